//! Text columns for tables (the status table, the dry-run listing): left-aligned, two spaces
//! apart, the last column unpadded.

use std::fmt::Write as _;

/// Lays out `rows` as columns; each row ends with a newline and no trailing spaces.
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_and_lines_trimmed() {
        let rows = vec![
            vec!["APP".to_owned(), "ACTIVE".to_owned(), String::new()],
            vec![
                "service1".to_owned(),
                "us-east-1".to_owned(),
                "! x".to_owned(),
            ],
        ];
        assert_eq!(
            columns(&rows),
            "APP       ACTIVE\nservice1  us-east-1  ! x\n"
        );
    }
}
