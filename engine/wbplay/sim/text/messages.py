"""Error texts: what the Backup UI and the events show for an HRESULT."""

from __future__ import annotations

from wbplay.sim.model import HostModel
from wbplay.sim.text.language import lang, tr

# (en, ja).  0x80070422's and 0x8007045D's texts are the seed's (DIGEST.md Paths 1 and 3);
# 0x8078002A, 0x807800B4 [V] and 0x80780119/0x81000019/0x80780166 [3P] come from
# docs/domain.md s.2; the rest, and the Japanese of all but the seed's two, are [U].
MESSAGES: dict[int, tuple[str, str]] = {
    0x80070422: (
        "The service cannot be started, either because it is disabled or because it has no enabled "
        "devices associated with it.",
        "指定されたサービスは無効であるか、または有効なデバイスが関連付けられていないため、開始できません。",
    ),
    0x8007045D: (
        "The request could not be performed because of an I/O device error.",
        "I/O デバイスエラーが発生したため、要求を実行できませんでした。",
    ),
    0x8078002A: (
        "One of the backup files could not be created.",
        "バックアップ ファイルの 1 つを作成できませんでした。",
    ),
    0x807800B4: (
        "Volumes larger than 2088958 megabytes cannot be protected.",
        "2088958 MB より大きいボリュームは保護できません。",
    ),
    0x807800A1: (
        "A Volume Shadow Copy Service operation failed.",
        "ボリューム シャドウ コピー サービスの操作が失敗しました。",
    ),
    0x800423F0: (
        "The shadow copy contains only a part of the writer's data.",
        "シャドウ コピーに不整合があります。",
    ),
    0x800423F1: (
        "The writer ran out of memory or other system resources.",
        "ライターのリソースが不足しています。",
    ),
    0x800423F2: (
        "The writer operation failed because of a time-out.",
        "ライターの操作がタイムアウトしました。",
    ),
    0x800423F3: ("The writer experienced a transient error.", "ライターで一時的なエラーが発生しました。"),
    0x800423F4: (
        "The writer experienced a non-transient error. If the backup process is retried, the error is "
        "likely to reoccur.",
        "ライターで一時的でないエラーが発生しました。バックアップを再試行しても、エラーが再発する可能性があります。",
    ),
    0x80780119: (
        "There is not enough disk space to create the volume shadow copy on the storage location. Make "
        "sure that, for all volumes to be backed up, the minimum required disk space for shadow copy "
        "creation is available.",
        "記憶域の場所にボリューム シャドウ コピーを作成するための十分なディスク領域がありません。",
    ),
    0x81000019: (
        "A shadow copy could not be created. Check the VSS and SPP application event logs for more "
        "information.",
        "シャドウ コピーを作成できませんでした。"
        "詳細については、VSS および SPP アプリケーション イベント ログを"
        "確認してください。",
    ),
    0x8004231F: (
        "Insufficient storage available to create either the shadow copy storage file or other shadow "
        "copy data.",
        "シャドウ コピーの記憶域ファイルまたは他のシャドウ コピー データを"
        "作成するための記憶域が不足しています。",
    ),
    0x80780166: (
        "Windows Backup encountered an error when writing data to the backup target.",
        "Windows バックアップで、バックアップ ターゲットへのデータの書き込み中にエラーが発生しました。",
    ),
    0x807800C5: (
        "A failure occurred while preparing the backup image of one of the volumes in the backup set.",
        "バックアップ セット内のいずれかのボリュームのバックアップ イメージを準備中にエラーが発生しました。",
    ),
    0x80070001: ("Incorrect function.", "ファンクションが間違っています。"),
    # KB975692 scenario 2's text [V]; the Japanese is [U] (no verified ja-JP source).
    0x81000031: (
        "BitLocker Drive Encryption cannot be used because critical BitLocker system files are missing "
        "or corrupted.",
        "重要な BitLocker システム ファイルが見つからないか破損しているため、"
        "BitLocker ドライブ暗号化を使用できません。",
    ),
    # KB2009513 [V]; Japanese [U].
    0x8004230F: (
        "The shadow copy provider had an unexpected error while trying to process the specified operation.",
        "シャドウ コピー プロバイダーで、指定された操作の処理中に予期しないエラーが発生しました。",
    ),
    0x80042306: (
        "The shadow copy provider had an error. Please see the system and application event logs for "
        "more information.",
        "シャドウ コピー プロバイダーでエラーが発生しました。詳細については、"
        "システムとアプリケーションのイベント ログを参照してください。",
    ),
    0x80070005: ("Access is denied.", "アクセスが拒否されました。"),
    # ERROR_INVALID_PARAMETER's system text (KB980794 quotes it [V]); the Japanese is [U].
    0x80070057: ("The parameter is incorrect.", "パラメーターが間違っています。"),
    # The ESP lock: third-party write-ups quote this text [3P]; the Japanese is [U].
    0x8078011E: (
        "Windows Backup failed to get an exclusive lock on the EFI system partition (ESP). This may happen "
        "if another application is using files on the ESP. Please retry the operation.",
        "Windows バックアップで EFI システム パーティション (ESP) の排他ロックを取得できませんでした。"
        "別のアプリケーションが ESP 上のファイルを使用している可能性があります。操作を再試行してください。",
    ),
}

# The Win7 Backup and Restore warning of the seed's Path 2 (ja verbatim from the seed; the
# English is DIGEST.md's translation).
SETTINGS_NOT_CURRENT = (
    "Your backup settings might not be current",
    "バックアップ設定が最新の状態でない可能性があります",
)


def message(m: HostModel, code: int) -> str:
    en, ja = MESSAGES.get(code, (f"Error 0x{code:08X}.", f"エラー 0x{code:08X}。"))
    return tr(m, en, ja)


def backup_ui_message(m: HostModel, code: int) -> str:
    """The line the Backup and Restore UI shows (the seed's 0x80070422 wording for a start failure)."""
    if code == 0x80070422:
        return tr(
            m,
            "The backup application could not start due to an internal error: "
            + MESSAGES[code][0]
            + " (0x80070422)",
            "内部エラーのため、バックアップアプリケーションを開始できませんでした:"
            + MESSAGES[code][1]
            + "(0x80070422)。",
        )
    return f"{message(m, code)} (0x{code:08X})" if lang(m) == "en" else f"{message(m, code)}(0x{code:08X})"
