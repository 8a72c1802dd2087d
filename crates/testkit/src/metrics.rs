//! Prometheus text exposition: scrape an endpoint, read a series by name and labels.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use crate::http;

/// One sample line: `name{label="value",...} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// `GET /metrics` from `addr` (HTTP/1.1, `Connection: close`); the body of a 200 answer.
/// Errors on a failed connection, another status, or no whole answer within 10 s.
pub async fn scrape(addr: SocketAddr) -> io::Result<String> {
    let request = http::request(
        "GET",
        "/metrics",
        &[("Host", &addr.to_string()), ("Connection", "close")],
        b"",
    );
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    tokio::io::AsyncWriteExt::write_all(&mut s, &request).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut raw),
    )
    .await
    .map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{addr}/metrics took over 10 s"),
        )
    })??;
    let answer = http::Response::parse(&raw);
    if answer.status != 200 {
        return Err(io::Error::other(format!(
            "{addr}/metrics answered {:?}: {}",
            answer.status_line, answer.body
        )));
    }
    Ok(answer.body)
}

/// The sum of the samples named exactly `name` that carry every one of `labels` (other labels
/// may be present), or `None` when no sample matches. For a counter with several series (one per
/// status, say), naming fewer labels adds those series up.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parse(text)
        .into_iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
        .reduce(|a, b| a + b)
}

/// Every sample in `text`; comments, blank lines and lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(sample)
        .collect()
}

fn sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(body) = rest.strip_prefix('{') {
        let (parsed, after) = label_set(body)?;
        labels = parsed;
        rest = after;
    }
    // The value, then an optional timestamp.
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    (!name.is_empty()).then(|| Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Parses `k="v",...}` (the opening brace already consumed); returns the labels and what follows
/// the closing brace. Values may hold `\"`, `\\` and `\n`.
fn label_set(mut s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(after) = s.strip_prefix('}') {
            return Some((labels, after));
        }
        let (key, after) = s.split_once('=')?;
        let mut chars = after.strip_prefix('"')?.char_indices();
        let mut value = String::new();
        let end = loop {
            match chars.next()? {
                (i, '"') => break i,
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (_, c) => value.push(c),
            }
        };
        labels.push((key.trim().to_owned(), value));
        s = &after[1 + end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP gateway_requests_total Requests.
# TYPE gateway_requests_total counter
gateway_requests_total{route="service1",status="200"} 3
gateway_requests_total{route="service1",status="502"} 2
gateway_requests_total{route="service10",status="200"} 7
gateway_requests_total_extra{route="service1"} 100
gateway_up 1
odd{msg="a \"quoted\", {braced} value\\",route="x"} 4 1700000000000
gateway_latency_bucket{le="+Inf"} 9
"#;

    #[test]
    fn sums_the_series_that_carry_the_labels() {
        assert_eq!(
            value(TEXT, "gateway_requests_total", &[("route", "service1")]),
            Some(5.0)
        );
        assert_eq!(
            value(
                TEXT,
                "gateway_requests_total",
                &[("route", "service1"), ("status", "502")]
            ),
            Some(2.0)
        );
        assert_eq!(value(TEXT, "gateway_requests_total", &[]), Some(12.0));
        assert_eq!(value(TEXT, "gateway_up", &[]), Some(1.0));
    }

    #[test]
    fn names_and_label_values_match_exactly() {
        assert_eq!(value(TEXT, "gateway_requests", &[]), None);
        assert_eq!(
            value(TEXT, "gateway_requests_total", &[("route", "service")]),
            None
        );
        assert_eq!(
            value(TEXT, "gateway_requests_total", &[("oute", "service1")]),
            None
        );
        assert_eq!(value(TEXT, "gateway_up", &[("route", "x")]), None);
    }

    #[test]
    fn escaped_values_timestamps_and_infinities_parse() {
        let odd = parse(TEXT).into_iter().find(|s| s.name == "odd").unwrap();
        assert_eq!(
            odd.labels,
            [
                (
                    "msg".to_owned(),
                    r#"a "quoted", {braced} value\"#.to_owned()
                ),
                ("route".to_owned(), "x".to_owned())
            ]
        );
        assert_eq!(odd.value, 4.0);
        assert_eq!(
            value(TEXT, "gateway_latency_bucket", &[("le", "+Inf")]),
            Some(9.0)
        );
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "good 1\nbad{x=\"1\" 2\nnovalue\n{a=\"b\"} 3\n";
        assert_eq!(parse(text).len(), 1);
    }
}
