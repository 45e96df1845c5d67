"""``sfc`` summaries and the ``[SR]`` lines it writes to CBS.log.

The console summary is localized; a French PC (locale ``fr-*``) prints it in French, with
French typography's space before "%" ("100 %"): the engine must not read its verdict from
that text (docs/agent-review.md likely bug 10).  The French phrases are [U] (from memory of a
fr-FR PC), except "n'a pu réparer certains d'entre eux" (malekal.com "SFC de Windows : comment
lire CBS.log" [3P]).  CBS.log is not localized.
"""

from __future__ import annotations

from wbplay.sim.model import HostModel
from wbplay.sim.text.language import crlf, tr

_FRENCH = {
    "Beginning system scan.  This process will take some time.": (
        "Début de l'analyse du système. Cette opération peut nécessiter un certain temps."
    ),
    "Beginning verification phase of system scan.": (
        "Début de la phase de vérification de l'analyse du système."
    ),
    "Verification 100% complete.": "Vérification 100 % terminée.",
    "Details are included in the CBS.Log windir\\Logs\\CBS\\CBS.log.": (
        "Les détails sont inclus dans le fichier CBS.Log windir\\Logs\\CBS\\CBS.log."
    ),
    "Windows Resource Protection did not find any integrity violations.": (
        "La protection des ressources Windows n'a trouvé aucune violation d'intégrité."
    ),
    "Windows Resource Protection found integrity violations. ": (
        "La protection des ressources Windows a trouvé des violations d'intégrité. "
    ),
    "Windows Resource Protection found corrupt files but was unable to fix some of them. ": (
        "La protection des ressources Windows a détecté des fichiers corrompus, mais n'a pu réparer "
        "certains d'entre eux. "
    ),
    "Windows Resource Protection found corrupt files and successfully repaired them. ": (
        "La protection des ressources Windows a trouvé des fichiers corrompus et les a réparés. "
    ),
}


def _tr(m: HostModel, en: str, ja: str) -> str:
    if str(m.os.get("locale", "")).lower().startswith("fr"):
        return _FRENCH[en]
    return tr(m, en, ja)


def sfc_output(m: HostModel, *, verify_only: bool, found: bool, unrepaired: bool) -> str:
    lines = [
        _tr(
            m,
            "Beginning system scan.  This process will take some time.",
            "システム スキャンを開始しています。これにはしばらく時間がかかります。",
        ),
        "",
        _tr(
            m,
            "Beginning verification phase of system scan.",
            "システム スキャンの検証フェーズを開始しています。",
        ),
        _tr(m, "Verification 100% complete.", "検証 100% が完了しました。"),
        "",
    ]
    cbs = _tr(
        m,
        "Details are included in the CBS.Log windir\\Logs\\CBS\\CBS.log.",
        "詳細は CBS.Log windir\\Logs\\CBS\\CBS.log に記録されています。",
    )
    if not found:
        lines.append(
            _tr(
                m,
                "Windows Resource Protection did not find any integrity violations.",
                "Windows リソース保護は、整合性違反を検出しませんでした。",
            )
        )
    elif verify_only:
        lines.append(
            _tr(
                m,
                "Windows Resource Protection found integrity violations. ",
                "Windows リソース保護により、整合性違反が見つかりました。",
            )
            + cbs
        )
    elif unrepaired:
        lines.append(
            _tr(
                m,
                "Windows Resource Protection found corrupt files but was unable to fix some of them. ",
                "Windows リソース保護により、破損したファイルが見つかりましたが、"
                "それらの一部は修正できませんでした。",
            )
            + cbs
        )
    else:
        lines.append(
            _tr(
                m,
                "Windows Resource Protection found corrupt files and successfully repaired them. ",
                "Windows リソース保護により、破損したファイルが見つかり、正常に修復されました。",
            )
            + cbs
        )
    return crlf(lines)


def cbs_sr_lines(
    stamp: str, repaired: list[str], unrepairable: list[str], *, verify_only: bool = False
) -> list[str]:
    """CBS.log ``[SR]`` lines in the layout KB928228 shows (CBS.log is not localized [U]).

    A verify logs a file that does not match as "Repairing corrupted file" too, though it
    repairs nothing (KB928228's note), and ends "Verify complete"; /scannow goes on to the
    repair transaction, which ends "Repair complete" (KB954402's sample).
    """

    def split(path: str) -> tuple[str, str]:
        folder, _, name = path.rpartition("\\")
        return folder, name

    def line(seq: int, text: str) -> str:
        return f"{stamp}, Info                  CSI    {seq:08x} [SR] {text}"

    out = [
        line(6, "Verifying 100 (0x00000064) components"),
        line(8, "Beginning Verify and Repair transaction"),
    ]
    for i, path in enumerate(repaired):
        folder, name = split(path)
        out.append(
            line(
                0x10 + i,
                "Repairing corrupted file "
                f'[ml:520{{260}},l:{2 * len(folder) + 8}{{{len(folder) + 4}}}]"\\??\\{folder}"\\'
                f'[l:{2 * len(name)}{{{len(name)}}}]"{name}" from store',
            )
        )
    for i, path in enumerate(unrepairable):
        _, name = split(path)
        out.append(
            line(
                0x40 + i,
                "Cannot repair member file "
                f'[l:{2 * len(name)}{{{len(name)}}}]"{name}" of Microsoft-Windows-Component, '
                "Version = 6.1.7601.17514, pA = PROCESSOR_ARCHITECTURE_AMD64 (9), Culture neutral, "
                "VersionScope = 1 nonSxS, PublicKeyToken = {l:8 b:31bf3856ad364e35}, Type neutral, "
                "TypeName neutral, PublicKey neutral in the store, hash mismatch",
            )
        )
    out.append(line(0xF0, "Verify complete"))
    if not verify_only:
        out.append(line(0xFF, "Repair complete"))
    return out


def dism_output(m: HostModel, *, scan: bool, healthy: bool, ok: bool = True) -> str:
    """DISM's console text for /ScanHealth and /RestoreHealth (the English phrases are [3P], the
    Japanese ones [U]; the engine reads only the verdict line)."""
    lines = [
        tr(m, "Deployment Image Servicing and Management tool", "展開イメージのサービスと管理ツール"),
        f"{tr(m, 'Version', 'バージョン')}: {m.os['version']}.1",
        "",
        f"{tr(m, 'Image Version', 'イメージのバージョン')}: {m.os['version']}.1",
        "",
        "[==========================100.0%==========================]",
    ]
    if scan:
        lines.append(
            tr(
                m,
                "No component store corruption detected.",
                "コンポーネント ストアの破損は検出されませんでした。",
            )
            if healthy
            else tr(m, "The component store is repairable.", "コンポーネント ストアは修復可能です。")
        )
    elif ok:
        lines.append(tr(m, "The restore operation completed successfully.", "復元操作は正常に完了しました。"))
    else:
        lines.append(
            tr(m, "Error: 0x800f081f", "エラー: 0x800f081f")
            + "\r\n\r\n"
            + tr(m, "The source files could not be found.", "ソース ファイルが見つかりませんでした。")
        )
    lines.append(tr(m, "The operation completed successfully.", "操作は正常に完了しました。") if ok else "")
    return crlf(lines)
