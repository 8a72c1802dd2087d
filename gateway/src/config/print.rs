//! `gateway config`: the effective configuration as TOML, every value commented with where it
//! came from (like `nginx -T`). The output parses back into the same configuration.

use std::fmt::Write;

use super::schema::Table;

/// Renders the tables; unset optional values appear as comments, warnings at the top.
pub fn render(tables: &[Table], warnings: &[String]) -> String {
    let mut out = String::from(
        "# The gateway's effective configuration; after each value, where it came from.\n",
    );
    for w in warnings {
        let _ = writeln!(out, "# warning: {w}");
    }
    for table in tables {
        if !table.header.is_empty() {
            let _ = writeln!(out, "\n{}", table.header);
        }
        let width = table
            .entries
            .iter()
            .map(|e| e.key.len() + e.value.len() + 3)
            .max()
            .unwrap_or(0);
        for e in &table.entries {
            if let super::schema::Source::Hidden(_) = e.source {
                let _ = writeln!(out, "# {} is set ({})", e.key, e.source);
                continue;
            }
            if e.value.is_empty() {
                let _ = writeln!(out, "# {} is not set ({})", e.key, e.source);
                continue;
            }
            let line = format!("{} = {}", e.key, e.value);
            let _ = writeln!(out, "{line:width$}  # {}", e.source);
        }
    }
    out
}
