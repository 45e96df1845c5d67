"""What the simulated PC's commands print, in its UI language (en-US or ja-JP), one module per
tool: :mod:`.chkdsk` (chkdsk, chkntfs), :mod:`.fsutil`, :mod:`.vssadmin`, :mod:`.wbadmin`,
:mod:`.reagentc`, :mod:`.sfc` (sfc and CBS.log), :mod:`.messages` (error texts of the Backup UI
and events); :mod:`.language` picks the language.

The engine never reads these strings by wording alone: :mod:`wbplay.vocab.cmdparse`
anchors on what does not change with the language (``[n]`` writer states,
GUID paths, numbers, exit codes), as docs/domain.md s.3.2 advises for
``vssadmin``.  Texts quoted in docs/domain.md or the seed are used verbatim
(marked there [V]/[3P]/seed).  Every other string, and **every Japanese string
not quoted by the seed**, is a reconstruction from general knowledge: [U].
Capture the real outputs on a lab VM before relying on their exact wording.
"""
