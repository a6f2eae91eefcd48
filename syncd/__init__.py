"""syncd: keep an Obsidian vault fed from Logseq (and the Readwise pages in it)."""

__version__ = "0.1.0"
