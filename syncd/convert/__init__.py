"""THE Logseq -> Obsidian rule set, for both note kinds: pages and journals (``page``) and
Readwise documents (``syncd.note`` renders their blocks with these same rules).

One module per family of rows of logseq-to-obsidian.md; ``context`` holds what every rule
may know about the graph (``GraphIndex``) and the user's choices (``ConvertOptions``).
"""
