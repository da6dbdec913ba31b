//! The small Markdown subset hepae's reports write (headings, paragraphs,
//! pipe tables, images, `code`) as HTML: one renderer for every report.

use std::fmt::Write as _;

/// `&`, `<` and `>` escaped for HTML text.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Inline Markdown: `code` spans; the rest escaped.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut code = false;
    for (i, part) in escape_html(s).split('`').enumerate() {
        if i > 0 {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        }
        out.push_str(part);
    }
    out
}

/// A table row's cells, or `None` for the `|---|---:|` separator.
fn table_cells(rest: &str) -> Option<Vec<&str>> {
    let cells: Vec<&str> = rest
        .trim_end_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    let separator = cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'));
    (!separator).then_some(cells)
}

/// The HTML body of `md`: the first row of each table is its header.
pub fn markdown_body(md: &str) -> String {
    let mut h = String::new();
    let mut in_table = false;
    for line in md.lines() {
        let l = line.trim();
        if in_table && !l.starts_with('|') {
            h.push_str("</table>\n");
            in_table = false;
        }
        if let Some(rest) = l.strip_prefix('|') {
            let Some(cells) = table_cells(rest) else {
                continue;
            };
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                h.push_str("<table>\n");
                in_table = true;
            }
            h.push_str("<tr>");
            for c in cells {
                let _ = write!(h, "<{tag}>{}</{tag}>", inline(c));
            }
            h.push_str("</tr>\n");
        } else if let Some(t) = l.strip_prefix("### ") {
            let _ = writeln!(h, "<h3>{}</h3>", inline(t));
        } else if let Some(t) = l.strip_prefix("## ") {
            let _ = writeln!(h, "<h2>{}</h2>", inline(t));
        } else if let Some(t) = l.strip_prefix("# ") {
            let _ = writeln!(h, "<h1>{}</h1>", inline(t));
        } else if let Some(rest) = l.strip_prefix("![") {
            if let Some((alt, src)) = rest.split_once("](") {
                let src = escape_html(src.trim_end_matches(')'));
                let _ = writeln!(h, "<img src=\"{src}\" alt=\"{}\">", escape_html(alt));
            }
        } else if !l.is_empty() {
            let _ = writeln!(h, "<p>{}</p>", inline(l).replace('*', ""));
        }
    }
    if in_table {
        h.push_str("</table>\n");
    }
    h
}

/// A script for report pages: on load it records in `body` data attributes
/// how many images loaded and which failed (checked by headless-browser tests).
pub const IMAGE_CHECK: &str = "<script>window.addEventListener('load', () => {\
const imgs = Array.from(document.images);\
const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'));\
document.body.dataset.imagesLoaded = String(imgs.length - bad.length);\
document.body.dataset.imagesTotal = String(imgs.length);\
document.body.dataset.imagesBroken = bad.join(' ');});</script>\n";

/// A standalone page: `title`, the body of `md`, then `extra` (raw HTML
/// such as figures or scripts) before `</body>`.
pub fn markdown_page(md: &str, title: &str, extra: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}\
         th{{background:#eee}}td:first-child,th:first-child{{text-align:left}}img{{max-width:48%;margin:4px}}\
         figure{{display:inline-block;margin:8px}}figure img{{max-width:none}}</style></head><body>\n{}{extra}</body></html>\n",
        escape_html(title),
        markdown_body(md)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_has_tables_headings_and_images() {
        let md = "# T\n\n| a | b |\n|---|---:|\n| 1 | `x<y` |\n\n![alt](p.png)\n";
        let h = markdown_page(md, "t", "<script></script>");
        assert!(h.contains("<h1>T</h1>"));
        assert!(h.contains("<tr><th>a</th><th>b</th></tr>"));
        assert!(h.contains("<tr><td>1</td><td><code>x&lt;y</code></td></tr>"));
        assert!(h.contains("<img src=\"p.png\" alt=\"alt\">"));
        assert!(h.contains("<script></script></body>"));
        assert_eq!(h.matches("<table>").count(), h.matches("</table>").count());
        assert!(!h.contains("---"), "separator rows are not cells");
    }
}
