"""The pure stages of one page's way from a Logseq graph to a vault note."""
