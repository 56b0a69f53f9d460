"""Rendering for people: terminal tables and stories now; Markdown, pictures and graphs later.

Reports never search: they take ``CheckResult``s the explorers produced.
"""
