"""The HTML report: one self-contained file (CSS, JS and SVG charts inline, no network)
rendered from a Report or its saved JSON, plus a CSV of every flagged row id beside it.

    from dataqa.report.html import write_html, render_html
    from dataqa.report.compare import write_comparison

Modules: `view` (report dict -> what the page shows, with the size caps), `charts`
(SVG), `page` (Jinja environment, CSP, JSON data block), `html`, `compare`,
`csv_export`.
"""
