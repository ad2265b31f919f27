"""Self-contained HTML reports (pure): the validation report, and the SVG and page helpers that it, the
drift report and the dashboard share. Data in, escaped markup out; no script, font or external resource."""
