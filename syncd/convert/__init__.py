"""Converting ordinary Logseq pages and journals into Obsidian notes (``include: all``).

One module per family of rows of logseq-to-obsidian.md; ``context`` holds what every rule
may know about the graph (``GraphIndex``) and the user's choices (``ConvertOptions``).
"""
