"""The weekly report: optimization recommendations, HTML/Markdown rendering, the reports store."""
