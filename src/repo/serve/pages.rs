//! The HTML pages of `rudder serve`: `/` lists every chart with each
//! version's app version, description, creation time, digest and archive
//! link; `/charts/<name>.html` shows one chart's versions with the README
//! and `values.yaml` of its newest version. Plain HTML with one inline
//! style sheet: no scripts, fonts, images or links to other hosts (an icon
//! is shown only when it is an inline `data:` image or a file of this
//! repository), so a page works offline; it reflows to a phone's width.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::catalog::Version;
use super::docs::ChartDocs;

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;background:#f6f7f9}\
main{max-width:64rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin:0;word-break:break-word}\
a{color:#0b5cad}\
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:1rem;margin:0 0 1rem}\
.head{display:flex;gap:.75rem;align-items:center}\
.head img{width:40px;height:40px;object-fit:contain}\
.desc{margin:.5rem 0;color:#3d4650}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
th,td{text-align:left;padding:.3rem .5rem;border-top:1px solid #e4e7eb;white-space:nowrap}\
td.d{white-space:normal;min-width:12rem}\
code,pre{font:.85rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}\
pre{background:#f1f3f5;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}\
.muted{color:#6a737d}.tag{font-size:.75rem;background:#fde2e1;color:#8a1c1c;border-radius:4px;padding:0 .3rem}";

/// What the pages need besides the charts.
pub struct PageContext<'a> {
    /// The repository URL to show in the `helm repo add` hint.
    pub repo_url: &'a str,
    /// The `--url` base, so icons under it count as local.
    pub base_url: &'a str,
}

/// The listing at `/`.
pub fn listing(charts: &BTreeMap<String, Vec<Version>>, ctx: &PageContext<'_>) -> String {
    let mut body = String::new();
    let versions: usize = charts.values().map(Vec::len).sum();
    let _ = write!(
        body,
        "<h1>Chart repository</h1><p class=\"muted\">{} charts, {} versions · \
         <code>helm repo add NAME {}</code> · <a href=\"index.yaml\">index.yaml</a></p>",
        charts.len(),
        versions,
        escape(ctx.repo_url)
    );
    if charts.is_empty() {
        body.push_str("<section><p>No chart archives yet.</p></section>");
    }
    for (name, list) in charts {
        chart_section(&mut body, name, list, ctx, "");
    }
    page("Chart repository", &body)
}

/// The page of one chart, with its newest version's README and values.
pub fn chart(name: &str, list: &[Version], docs: &ChartDocs, ctx: &PageContext<'_>) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<p><a href=\"../\">← all charts</a></p><h1>{}</h1>",
        escape(name)
    );
    chart_section(&mut body, name, list, ctx, "../");
    let latest = list.first().map(|v| v.version.as_str()).unwrap_or_default();
    let texts = [
        ("README", docs.readme.as_deref()),
        ("values.yaml", docs.values.as_deref()),
    ];
    for (title, text) in texts {
        let _ = write!(
            body,
            "<section><h2>{} <span class=\"muted\">({})</span></h2>",
            title,
            escape(latest)
        );
        match text {
            Some(t) => {
                let _ = write!(body, "<pre>{}</pre></section>", escape(t));
            }
            None => body.push_str("<p class=\"muted\">none in the archive</p></section>"),
        }
    }
    page(name, &body)
}

/// A chart's heading, description and versions table. `root` leads from
/// the page back to the repository root.
fn chart_section(
    out: &mut String,
    name: &str,
    list: &[Version],
    ctx: &PageContext<'_>,
    root: &str,
) {
    let Some(latest) = list.first() else {
        return;
    };
    out.push_str("<section><div class=\"head\">");
    if let Some(src) = local_icon(&latest.icon, ctx.base_url, root) {
        let _ = write!(out, "<img src=\"{}\" alt=\"\">", escape(&src));
    }
    let _ = write!(
        out,
        "<h2><a href=\"{root}charts/{}.html\">{}</a></h2></div>",
        encode_segment(name),
        escape(name)
    );
    if !latest.description.is_empty() {
        let _ = write!(out, "<p class=\"desc\">{}</p>", escape(&latest.description));
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Version</th><th>App version</th>\
         <th>Created</th><th>Digest</th><th>Archive</th><th>Description</th></tr></thead><tbody>",
    );
    for v in list {
        version_row(out, v, root);
    }
    out.push_str("</tbody></table></div></section>");
}

fn version_row(out: &mut String, v: &Version, root: &str) {
    let deprecated = if v.deprecated {
        " <span class=\"tag\">deprecated</span>"
    } else {
        ""
    };
    let short: String = v.digest.chars().take(12).collect();
    let href: Vec<String> = v.file.split('/').map(encode_segment).collect();
    let _ = write!(
        out,
        "<tr><td>{}{deprecated}</td><td>{}</td><td><time datetime=\"{}\">{}</time></td>\
         <td><code title=\"sha256:{}\">{}</code></td><td><a href=\"{root}{}\">{}</a> \
         <span class=\"muted\">{}</span></td><td class=\"d\">{}</td></tr>",
        escape(&v.version),
        escape(&v.app_version),
        escape(&v.created),
        escape(&readable_time(&v.created)),
        escape(&v.digest),
        escape(&short),
        href.join("/"),
        escape(v.file.rsplit('/').next().unwrap_or_default()),
        readable_size(v.size),
        escape(&v.description),
    );
}

/// The icon's address when it loads from nowhere else: an inline
/// `data:image/…` URL, a path of this repository, or a URL under `base`.
fn local_icon(icon: &str, base: &str, root: &str) -> Option<String> {
    let icon = icon.trim();
    if icon.is_empty() {
        return None;
    }
    if icon.starts_with("data:image/") {
        return Some(icon.to_string());
    }
    let base = base.trim_end_matches('/');
    if !base.is_empty()
        && let Some(rest) = icon.strip_prefix(base).filter(|r| r.starts_with('/'))
    {
        return Some(format!("{root}{}", rest.trim_start_matches('/')));
    }
    let has_scheme = icon
        .split_once(':')
        .is_some_and(|(scheme, _)| !scheme.contains('/'));
    if has_scheme || icon.starts_with("//") {
        return None;
    }
    Some(if icon.starts_with('/') {
        icon.to_string()
    } else {
        format!("{root}{icon}")
    })
}

/// `2026-12-06T10:20:30.123Z` → `2026-12-06 10:20`.
fn readable_time(rfc3339: &str) -> String {
    rfc3339
        .chars()
        .take(16)
        .collect::<String>()
        .replace('T', " ")
}

fn readable_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// A path segment, percent-encoded for an `href`.
fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%2E", ".")
        .replace("%5F", "_")
}

/// Text safe inside HTML elements and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_icons_are_shown() {
        let base = "http://127.0.0.1:8879";
        assert_eq!(local_icon("https://cdn.example/x.png", base, ""), None);
        assert_eq!(local_icon("//cdn.example/x.png", base, ""), None);
        assert_eq!(local_icon("javascript:alert(1)", base, ""), None);
        assert_eq!(
            local_icon("http://127.0.0.1:8879/icons/x.png", base, "../"),
            Some("../icons/x.png".into())
        );
        assert_eq!(
            local_icon("icons/x.png", "", "../"),
            Some("../icons/x.png".into())
        );
        assert_eq!(
            local_icon("data:image/png;base64,AAAA", "", ""),
            Some("data:image/png;base64,AAAA".into())
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
