"""Captions: layout, timing, styles and fonts, karaoke, SRT/VTT/ASS files, the rule checker.

Rules follow the project's subtitle spec (Netflix general + French style guide): at most
`max_lines` lines, breaks after punctuation or before conjunctions and prepositions, never
after an article, a determiner or a subject pronoun, reading speed, minimum gap, French
non-breaking spaces, shot changes. Everything is pure except `files.write_captions` and the
font lookup (`fonts.find_font` reads font files).
"""
