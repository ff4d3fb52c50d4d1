//! A spreadsheet as rows of text, whatever it arrived as: an Excel workbook (its first sheet),
//! CSV or tab-separated text in UTF-8 (with or without a byte-order mark), UTF-16 (Excel's
//! "Unicode text") or GBK/GB18030 (what Chinese Excel saves CSV as). A file that is none of
//! these, or a workbook cell holding a formula or an error, is refused with a stable code:
//! nothing is guessed.

use crate::error::AppError;

/// A decoded sheet: the header row and the data rows, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header: Vec<String>,
    /// Each data row with its spreadsheet row number (the header is row 1).
    pub rows: Vec<(usize, Vec<String>)>,
}

/// The largest file one import takes (100,000 rows of a wide sheet fit easily).
pub const MAX_IMPORT_BYTES: usize = fieldline_domain::import::MAX_IMPORT_BYTES as usize;

/// The most data rows one import takes.
pub const MAX_ROWS: usize = 200_000;

fn refuse(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Unprocessable {
        code,
        message: message.into(),
    }
}

pub fn decode(bytes: &[u8]) -> Result<Table, AppError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return workbook(bytes);
    }
    let text = text_of(bytes)?;
    delimited(&text)
}

/// The file's text: UTF-8 first (a BOM dropped), then UTF-16 by its BOM, then GB18030.
fn text_of(bytes: &[u8]) -> Result<String, AppError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec())
            .map_err(|_| refuse("bad_encoding", "the file says UTF-8 but is not"));
    }
    for (bom, encoding) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if bytes.starts_with(bom) {
            let (text, _, bad) = encoding.decode(bytes);
            if bad {
                return Err(refuse("bad_encoding", "the file says UTF-16 but is not"));
            }
            return Ok(text.into_owned());
        }
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let (text, bad) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if bad {
                return Err(refuse(
                    "bad_encoding",
                    "the file is neither UTF-8, UTF-16 nor GBK text, nor an .xlsx workbook",
                ));
            }
            text.into_owned()
        }
    };
    // Text never holds NUL or other C0 controls beyond tab and line ends: a binary file
    // that happened to decode.
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(refuse(
            "bad_encoding",
            "the file holds control characters: it is not a text table",
        ));
    }
    Ok(text)
}

fn delimited(text: &str) -> Result<Table, AppError> {
    // Quotes come in pairs in valid CSV (a quote inside a field is doubled); an odd count
    // means a field runs unclosed to the end of the file.
    if text.matches('"').count() % 2 == 1 {
        return Err(refuse("bad_csv", "a quoted field is never closed"));
    }
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(r)) => r.iter().map(|c| c.trim().to_owned()).collect(),
        Some(Err(e)) => return Err(refuse("bad_csv", format!("the header row: {e}"))),
        None => return Err(refuse("empty_file", "the file has no header row")),
    };
    let mut rows = Vec::new();
    let bytes = text.as_bytes();
    let (mut newlines, mut counted) = (0, 0);
    for (i, record) in records.enumerate() {
        let record = record.map_err(|e| refuse("bad_csv", format!("row {}: {e}", i + 2)))?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        // The spreadsheet's row: lines before the record's first byte, plus one (the csv
        // crate's own line count passes over blank lines).
        let line = match record.position() {
            Some(p) => {
                let mut start = p.byte() as usize;
                while matches!(bytes.get(start), Some(b'\n' | b'\r')) {
                    start += 1;
                }
                // Counted from where the last row started: linear in the file.
                newlines += bytes[counted..start]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                counted = start;
                newlines + 1
            }
            None => i + 2,
        };
        rows.push((line, cells));
        if rows.len() > MAX_ROWS {
            return Err(refuse(
                "too_many_rows",
                format!("at most {MAX_ROWS} rows in one import"),
            ));
        }
    }
    Ok(Table { header, rows })
}

/// The most columns a sheet may use: a cell beyond is refused before anything is allocated
/// for it (a workbook of two cells, A1 and XFD1048576, would otherwise ask for 17 billion).
const MAX_COLUMNS: u32 = 256;

/// The most filled cells one workbook import holds in memory.
const MAX_CELLS: usize = 5_000_000;

/// The most a workbook may hold once unzipped: its entries' declared sizes are checked
/// before any is read, so a small zip that inflates to gigabytes is refused, not opened.
const MAX_UNZIPPED_BYTES: u64 = 1024 * 1024 * 1024;

fn bad_xlsx(e: impl std::fmt::Display) -> AppError {
    refuse("bad_xlsx", format!("not a readable .xlsx workbook: {e}"))
}

/// The workbook's first sheet, streamed cell by cell: formulas and error cells are refused,
/// and so are sheets wider than `MAX_COLUMNS`, longer than `MAX_ROWS` or fuller than
/// `MAX_CELLS`, before they take the memory they ask for.
fn workbook(bytes: &[u8]) -> Result<Table, AppError> {
    workbook_within(bytes, MAX_UNZIPPED_BYTES)
}

fn workbook_within(bytes: &[u8], max_unzipped: u64) -> Result<Table, AppError> {
    use calamine::{DataRef, Reader, Xlsx};
    use std::collections::BTreeMap;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad_xlsx)?;
    let mut unzipped: u64 = 0;
    for i in 0..archive.len() {
        unzipped = unzipped.saturating_add(archive.by_index_raw(i).map_err(bad_xlsx)?.size());
    }
    if unzipped > max_unzipped {
        return Err(refuse(
            "too_large",
            format!("the workbook unzips to {unzipped} bytes; at most {max_unzipped}"),
        ));
    }
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).map_err(bad_xlsx)?;
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| refuse("empty_file", "the workbook has no sheet"))?;
    let sheet_error = |e: calamine::XlsxError| refuse("bad_xlsx", format!("sheet {name}: {e}"));
    // Formulas are refused, not evaluated: the value a formula showed in Excel is whatever
    // its author's workbook computed last, and a formula can carry an injection.
    if let Ok(mut formulas) = book.worksheet_cells_reader(&name) {
        while let Some(cell) = formulas.next_formula().map_err(sheet_error)? {
            if !cell.get_value().is_empty() {
                let (r, c) = cell.get_position();
                return Err(refuse(
                    "formula",
                    format!(
                        "cell {} holds a formula: paste values only",
                        cell_name(r as usize, c as usize)
                    ),
                ));
            }
        }
    }
    let mut reader = book.worksheet_cells_reader(&name).map_err(sheet_error)?;
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let mut filled = 0usize;
    while let Some(cell) = reader.next_cell().map_err(sheet_error)? {
        let (r, c) = cell.get_position();
        let at = || cell_name(r as usize, c as usize);
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
                s.trim().to_owned()
            }
            DataRef::SharedString(s) => s.trim().to_owned(),
            DataRef::Int(i) => i.to_string(),
            DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            DataRef::Float(f) => f.to_string(),
            DataRef::Bool(b) => b.to_string(),
            DataRef::DateTime(d) => d.to_string(),
            DataRef::Error(e) => {
                return Err(refuse(
                    "bad_xlsx",
                    format!("cell {} holds an error ({e:?})", at()),
                ));
            }
        };
        if text.is_empty() {
            continue;
        }
        if c >= MAX_COLUMNS {
            return Err(refuse(
                "too_many_columns",
                format!("cell {} is beyond the first {MAX_COLUMNS} columns", at()),
            ));
        }
        filled += 1;
        if filled > MAX_CELLS || (grid.len() > MAX_ROWS && !grid.contains_key(&r)) {
            return Err(refuse(
                "too_many_rows",
                format!("at most {MAX_ROWS} rows and {MAX_CELLS} filled cells in one import"),
            ));
        }
        grid.entry(r).or_default().insert(c, text);
    }
    // The table spans the filled cells' columns; rows with nothing in them are left out.
    // (The loop above kept it to the header and `MAX_ROWS` rows.)
    let first = grid
        .values()
        .filter_map(|row| row.keys().next())
        .min()
        .copied()
        .unwrap_or(0);
    let last = grid
        .values()
        .filter_map(|row| row.keys().last())
        .max()
        .copied()
        .unwrap_or(0);
    let mut lines = grid.into_iter().map(|(r, mut row)| {
        let cells = (first..=last)
            .map(|c| row.remove(&c).unwrap_or_default())
            .collect::<Vec<_>>();
        (r as usize + 1, cells)
    });
    let (_, header) = lines
        .next()
        .ok_or_else(|| refuse("empty_file", "the sheet has no header row"))?;
    let rows: Vec<(usize, Vec<String>)> = lines.collect();
    Ok(Table { header, rows })
}

/// `B7` for row index 6, column index 1.
fn cell_name(row: usize, col: usize) -> String {
    let mut letters = String::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.insert(0, (b'A' + rem as u8) as char);
        n = (n - 1) / 26;
    }
    format!("{letters}{}", row + 1)
}

/// A cell as a spreadsheet must not read it as a formula (CSV injection): text starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe. Numbers are left
/// alone.
pub fn safe_cell(text: &str) -> String {
    let numeric = text.parse::<f64>().is_ok();
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !numeric => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: AppError) -> &'static str {
        match e {
            AppError::Unprocessable { code, .. } => code,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utf8_gbk_and_utf16_read_the_same() {
        let text = "编码,名称\nA-1,润滑油\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend(text.as_bytes());
        let want = decode(text.as_bytes()).unwrap();
        assert_eq!(want.header, ["编码", "名称"]);
        assert_eq!(
            want.rows,
            [(2, vec!["A-1".to_owned(), "润滑油".to_owned()])]
        );
        for bytes in [gbk.to_vec(), utf16, bom] {
            assert_eq!(decode(&bytes).unwrap(), want);
        }
    }

    #[test]
    fn tabs_are_sniffed_and_blank_rows_skipped() {
        let t = decode(b"sku\ton_hand\n\nA\t3\n").unwrap();
        assert_eq!(t.rows, [(3, vec!["A".to_owned(), "3".to_owned()])]);
    }

    #[test]
    fn binary_and_broken_files_are_refused_with_a_code() {
        assert_eq!(
            code(decode(b"\x00\x01\x02binary").unwrap_err()),
            "bad_encoding"
        );
        assert_eq!(
            code(decode(b"\xEF\xBB\xBF\xff\xfe").unwrap_err()),
            "bad_encoding"
        );
        assert_eq!(code(decode(b"").unwrap_err()), "empty_file");
        assert_eq!(code(decode(b"PK\x03\x04garbage").unwrap_err()), "bad_xlsx");
        assert_eq!(code(decode(b"a,b\n\"unclosed,1\n").unwrap_err()), "bad_csv");
    }

    #[test]
    fn workbooks_read_their_first_sheet_and_refuse_formulas() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "物料编码").unwrap();
        sheet.write_string(0, 1, "现存量").unwrap();
        sheet.write_string(1, 0, "LUB-18L").unwrap();
        sheet.write_number(1, 1, 120.0).unwrap();
        sheet.write_string(3, 0, "BRG-6205").unwrap();
        sheet.write_number(3, 1, 7.5).unwrap();
        let t = decode(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(t.header, ["物料编码", "现存量"]);
        assert_eq!(
            t.rows,
            [
                (2, vec!["LUB-18L".to_owned(), "120".to_owned()]),
                (4, vec!["BRG-6205".to_owned(), "7.5".to_owned()]),
            ]
        );

        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "sku").unwrap();
        sheet.write_string(1, 0, "A").unwrap();
        sheet.write_formula(1, 1, "=1+1").unwrap();
        let refused = decode(&book.save_to_buffer().unwrap()).unwrap_err();
        assert!(refused.to_string().contains("B2"), "{refused}");
        assert_eq!(code(refused), "formula");
    }

    #[test]
    fn workbooks_that_ask_for_more_than_they_hold_are_refused_before_reading() {
        // A header and one cell a million rows down: two rows, not a million.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "sku").unwrap();
        sheet.write_string(1_048_575, 0, "LUB-18L").unwrap();
        let t = decode(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(t.rows, [(1_048_576, vec!["LUB-18L".to_owned()])]);

        // A cell in Excel's last column: refused, never spread into 16,384 columns a row.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "sku").unwrap();
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
        let refused = decode(&book.save_to_buffer().unwrap()).unwrap_err();
        assert_eq!(code(refused), "too_many_columns");

        // More unzipped than allowed (the limit lowered to this small workbook's size).
        let mut book = rust_xlsxwriter::Workbook::new();
        book.add_worksheet().write_string(0, 0, "sku").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert!(workbook_within(&bytes, 1 << 30).is_ok());
        assert_eq!(code(workbook_within(&bytes, 100).unwrap_err()), "too_large");
    }

    #[test]
    fn formulas_are_defused_on_export() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("-12.5"), "-12.5");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("润滑油"), "润滑油");
        assert_eq!(cell_name(6, 27), "AB7");
    }
}
