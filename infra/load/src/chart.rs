//! The PNG: latency percentiles over time (top) and throughput (bottom), drawn with plotters'
//! bitmap backend and a bundled font (DejaVu Sans, the `dejavu` crate), so no system fonts.

use crate::report::Bucket;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";

/// A latency line: its legend, colour and the value it plots.
type Line = (&'static str, RGBColor, fn(&Bucket) -> f64);

fn register_font() -> Result<(), String> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| "the bundled font did not load".to_owned());
    });
    result
}

pub fn draw(path: &Path, series: &[Bucket], title: &str) -> Result<(), String> {
    register_font()?;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root.titled(title, (FONT, 22)).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(480);
    let end = series.last().map_or(1.0, |b| b.start_s + 1.0);
    let max_latency = series.iter().map(|b| b.p99_ms).fold(1.0_f64, f64::max) * 1.1;
    let mut latency = ChartBuilder::on(&top)
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .caption(
            "latency percentiles (ms) of the requests started each interval",
            (FONT, 16),
        )
        .build_cartesian_2d(0.0..end, 0.0..max_latency)
        .map_err(|e| err(&e))?;
    latency
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("ms")
        .label_style((FONT, 13))
        .draw()
        .map_err(|e| err(&e))?;
    let lines: [Line; 3] = [
        ("p50", BLUE, |b| b.p50_ms),
        ("p95", RGBColor(230, 140, 0), |b| b.p95_ms),
        ("p99", RED, |b| b.p99_ms),
    ];
    for (name, color, value) in lines {
        latency
            .draw_series(LineSeries::new(
                series
                    .iter()
                    .filter(|b| b.requests_per_s > 0.0)
                    .map(|b| (b.start_s, value(b))),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    latency
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    let max_rps = series
        .iter()
        .map(|b| b.requests_per_s)
        .fold(1.0_f64, f64::max)
        * 1.1;
    let mut throughput = ChartBuilder::on(&bottom)
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .caption("throughput (requests started per second)", (FONT, 16))
        .build_cartesian_2d(0.0..end, 0.0..max_rps)
        .map_err(|e| err(&e))?;
    throughput
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("req/s")
        .label_style((FONT, 13))
        .draw()
        .map_err(|e| err(&e))?;
    throughput
        .draw_series(LineSeries::new(
            series.iter().map(|b| (b.start_s, b.requests_per_s)),
            GREEN.stroke_width(2),
        ))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_a_png_without_system_fonts() {
        let series: Vec<Bucket> = (0..30)
            .map(|i| Bucket {
                start_s: f64::from(i),
                requests_per_s: f64::from(100 + i),
                p50_ms: 5.0,
                p95_ms: 20.0 + f64::from(i),
                p99_ms: 40.0 + f64::from(i),
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("game-load-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("load.png");
        draw(&path, &series, "test run").unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 10_000, "a chart with text and lines");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
