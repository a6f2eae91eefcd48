"""Everything that knows Logseq's file format: pages, file names, config.edn, dates."""
