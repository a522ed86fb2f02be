//! Exports: the query's format, dates and limit, and the file a set of rows becomes (CSV,
//! JSON or XLSX). Pure: the rows come from `store::exports`.

use crate::error::{ApiError, ApiResult};
use crate::store::exports::{Dataset, Row};
use serde_json::{Map, Value};

pub const DEFAULT_LIMIT: u64 = 10_000;
pub const MAX_LIMIT: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub fn parse(text: Option<&str>) -> ApiResult<Format> {
        match text {
            None | Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(other) => Err(ApiError::unprocessable(
                "invalid_export_format",
                format!("format must be csv, json or xlsx, not \"{other}\"."),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// `limit`: 1 to `max` (GAME: 1 to 100,000, default 10,000).
pub fn parse_limit(text: Option<&str>, default: u64, max: u64) -> ApiResult<u64> {
    match text {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(limit) if (1..=max).contains(&limit) => Ok(limit),
            _ => Err(ApiError::unprocessable(
                "invalid_export_limit",
                format!("limit must be a whole number from 1 to {max}, got \"{text}\"."),
            )),
        },
    }
}

/// `dateFrom` / `dateTo` as microseconds: a date is its whole UTC day (from its first to its
/// last microsecond), a date-time is that instant.
pub fn parse_bound(name: &str, text: &str, end_of_day: bool) -> ApiResult<i64> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let invalid = || {
        ApiError::bad_request(
            "invalid_date",
            format!("{name} must be an ISO 8601 date (2026-05-01) or date-time, not \"{text}\"."),
        )
    };
    let at = if text.len() == 10 {
        let date = time::Date::parse(text, &Iso8601::DATE).map_err(|_| invalid())?;
        let start = date.midnight().assume_utc();
        if end_of_day {
            start + time::Duration::days(1) - time::Duration::microseconds(1)
        } else {
            start
        }
    } else if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        at
    } else {
        time::PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
            .map_err(|_| invalid())?
            .assume_utc()
    };
    i64::try_from(at.unix_timestamp_nanos() / 1000).map_err(|_| invalid())
}

/// The file name GAME gives an export: `<dataset>_<YYYYmmddTHHMMSSZ>.<ext>`.
pub fn filename(dataset: Dataset, format: Format, now_us: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(now_us) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{}_{:04}{:02}{:02}T{:02}{:02}{:02}Z.{}",
        dataset.name(),
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        format.name()
    )
}

/// A cell as text: strings as they are, JSON values (`data`) as compact JSON, null empty.
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The export file.
pub fn render(dataset: Dataset, format: Format, rows: &[Row]) -> ApiResult<Vec<u8>> {
    let columns = dataset.columns();
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(columns).map_err(ApiError::internal)?;
            for row in rows {
                writer
                    .write_record(row.iter().map(cell_text))
                    .map_err(ApiError::internal)?;
            }
            writer.into_inner().map_err(ApiError::internal)
        }
        Format::Json => {
            let objects: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let object: Map<String, Value> = columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| ((*c).to_owned(), v.clone()))
                        .collect();
                    Value::Object(object)
                })
                .collect();
            serde_json::to_vec(&objects).map_err(ApiError::internal)
        }
        Format::Xlsx => xlsx(dataset, columns, rows),
    }
}

fn xlsx(dataset: Dataset, columns: &[&str], rows: &[Row]) -> ApiResult<Vec<u8>> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(dataset.name()).map_err(ApiError::internal)?;
    let bold = CellFormat::new().set_bold();
    for (col, name) in columns.iter().enumerate() {
        let col = u16::try_from(col).map_err(ApiError::internal)?;
        sheet
            .write_string_with_format(0, col, *name, &bold)
            .map_err(ApiError::internal)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).map_err(ApiError::internal)?;
        for (col, value) in row.iter().enumerate() {
            let col = u16::try_from(col).map_err(ApiError::internal)?;
            let written = match value {
                Value::Null => continue,
                Value::Number(number) => match number.as_f64() {
                    Some(n) => sheet.write_number(r, col, n).map(|_| ()),
                    None => sheet.write_string(r, col, number.to_string()).map(|_| ()),
                },
                Value::Bool(b) => sheet.write_boolean(r, col, *b).map(|_| ()),
                other => sheet.write_string(r, col, cell_text(other)).map(|_| ()),
            };
            written.map_err(ApiError::internal)?;
        }
    }
    workbook.save_to_buffer().map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows() -> Vec<Row> {
        vec![vec![
            json!("a1"),
            json!("2026-05-01T10:00:00Z"),
            json!("ana"),
            json!("walk"),
            json!(null),
            json!({"k": "v, with comma"}),
            json!(null),
        ]]
    }

    #[test]
    fn csv_has_game_columns_and_quotes() {
        let bytes = render(Dataset::UserInteractions, Format::Csv, &rows()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "id,created_at,externalUserId,typeAction,description,data,apiKey_used"
        );
        assert_eq!(
            lines.next().unwrap(),
            r#"a1,2026-05-01T10:00:00Z,ana,walk,,"{""k"":""v, with comma""}","#
        );
    }

    #[test]
    fn json_and_xlsx_render() {
        let bytes = render(Dataset::UserInteractions, Format::Json, &rows()).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(value[0]["typeAction"], "walk");
        assert_eq!(value[0]["data"]["k"], "v, with comma");
        let xlsx = render(Dataset::UserInteractions, Format::Xlsx, &rows()).unwrap();
        assert_eq!(&xlsx[..2], b"PK", "an xlsx is a zip");
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(
            Format::parse(Some("pdf")).unwrap_err().code,
            "invalid_export_format"
        );
        for bad in ["0", "100001", "-1", "ten"] {
            assert_eq!(
                parse_limit(Some(bad), DEFAULT_LIMIT, MAX_LIMIT)
                    .unwrap_err()
                    .code,
                "invalid_export_limit"
            );
        }
        assert_eq!(parse_limit(None, DEFAULT_LIMIT, MAX_LIMIT).unwrap(), 10_000);
        assert_eq!(
            parse_bound("dateFrom", "2026-02-30", false)
                .unwrap_err()
                .code,
            "invalid_date"
        );
        let from = parse_bound("dateFrom", "2026-05-01", false).unwrap();
        let to = parse_bound("dateTo", "2026-05-01", true).unwrap();
        assert_eq!(to - from, 86_400_000_000 - 1);
    }

    #[test]
    fn filenames_are_games() {
        assert_eq!(
            filename(Dataset::UserPoints, Format::Xlsx, 1_777_636_800_000_000),
            "user-points_20260501T120000Z.xlsx"
        );
    }
}
