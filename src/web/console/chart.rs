//! The issuance chart: tokens per hour, stacked by scheme, drawn on the server as SVG (no script,
//! no inline style: colours are presentation attributes, which the pages' CSP allows). Each bar
//! segment carries a `<title>` with its figures, and the whole chart a text summary for screen
//! readers.

use chrono::{DateTime, Duration, Utc};

use crate::signing::report::HourlyCount;

/// Most hours one chart shows (two weeks).
pub const MAX_HOURS: i64 = 24 * 14;

/// Colours of the schemes, in the scheme list's order (distinguishable with colour blindness).
const PALETTE: [&str; 8] = [
    "#0b5cad", "#d66b00", "#2a9d55", "#8e44ad", "#c0392b", "#16a085", "#6b7280", "#b7950b",
];
/// The drawing's size and the plot's margins, in SVG user units.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 58.0;

/// A drawn chart, ready for the template.
pub struct Chart {
    /// Text for screen readers: what the chart shows, in figures.
    pub summary: String,
    /// The stacked bar segments.
    pub bars: Vec<Bar>,
    /// Labels under the time axis.
    pub ticks: Vec<Tick>,
    /// The legend: one entry per scheme that issued anything.
    pub legend: Vec<LegendEntry>,
    /// The tallest bar's count (the top of the value axis).
    pub max: i64,
    /// Geometry the template needs.
    pub width: f64,
    /// Geometry the template needs.
    pub height: f64,
    /// The plot's left edge.
    pub left: f64,
    /// The plot's top edge.
    pub top: f64,
    /// The time axis' height.
    pub axis_y: f64,
}

/// One scheme's part of one hour.
pub struct Bar {
    /// Geometry.
    pub x: String,
    /// Geometry.
    pub y: String,
    /// Geometry.
    pub width: String,
    /// Geometry.
    pub height: String,
    /// Fill colour.
    pub color: &'static str,
    /// Tooltip: hour, scheme, count.
    pub title: String,
}

/// A label on the time axis.
pub struct Tick {
    /// Where.
    pub x: String,
    /// What.
    pub label: String,
}

/// A legend entry.
pub struct LegendEntry {
    /// Where (the swatch).
    pub x: String,
    /// Colour.
    pub color: &'static str,
    /// The scheme and its total.
    pub label: String,
}

fn num(value: f64) -> String {
    format!("{value:.1}")
}

impl Chart {
    /// The chart of `counts` over the hours from `since` to `until`, schemes coloured in the order
    /// of `schemes`.
    pub fn new(
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        schemes: &[&str],
        counts: &[HourlyCount],
    ) -> Self {
        let hours = (until - since).num_hours().clamp(1, MAX_HOURS);
        let slot_of = |at: DateTime<Utc>| {
            usize::try_from((at - since).num_hours())
                .ok()
                .filter(|i| (*i as i64) < hours && at >= since)
        };
        // Only what falls in the period is drawn and counted.
        let mut counts: Vec<(usize, &HourlyCount)> = counts
            .iter()
            .filter_map(|c| slot_of(c.hour).map(|slot| (slot, c)))
            .collect();
        counts.sort_by_key(|(slot, c)| (*slot, schemes.iter().position(|s| *s == c.scheme)));
        let mut stacks = vec![0i64; usize::try_from(hours).unwrap_or(1)];
        for (slot, count) in &counts {
            stacks[*slot] += count.tokens;
        }
        let max = stacks.iter().copied().max().unwrap_or(0).max(1);
        let plot_width = WIDTH - LEFT - RIGHT;
        let plot_height = HEIGHT - TOP - BOTTOM;
        let slot = plot_width / hours as f64;
        let bar_width = (slot - 1.0).max(1.0);
        let color = |scheme: &str| {
            let index = schemes
                .iter()
                .position(|s| *s == scheme)
                .unwrap_or(PALETTE.len() - 1);
            PALETTE[index % PALETTE.len()]
        };
        let mut filled = vec![0i64; stacks.len()];
        let mut bars = Vec::new();
        for (index, count) in counts.iter().copied() {
            filled[index] += count.tokens;
            let y_top = TOP + plot_height * (1.0 - filled[index] as f64 / max as f64);
            let height = plot_height * count.tokens as f64 / max as f64;
            bars.push(Bar {
                x: num(LEFT + slot * index as f64),
                y: num(y_top),
                width: num(bar_width),
                height: num(height.max(0.5)),
                color: color(&count.scheme),
                title: format!(
                    "{} UTC, {}: {} token(s)",
                    count.hour.format("%Y-%m-%d %H:00"),
                    count.scheme,
                    count.tokens
                ),
            });
        }
        let step = (hours / 8).max(1);
        let ticks = (0..hours)
            .step_by(usize::try_from(step).unwrap_or(1))
            .map(|i| Tick {
                x: num(LEFT + slot * i as f64),
                label: (since + Duration::hours(i))
                    .format("%m-%d %H:00")
                    .to_string(),
            })
            .collect();
        let mut legend = Vec::new();
        for (index, scheme) in schemes.iter().enumerate() {
            let total: i64 = counts
                .iter()
                .filter(|(_, c)| c.scheme == *scheme)
                .map(|(_, c)| c.tokens)
                .sum();
            if total > 0 {
                legend.push(LegendEntry {
                    x: num(LEFT + 150.0 * legend.len() as f64),
                    color: PALETTE[index % PALETTE.len()],
                    label: format!("{scheme} ({total})"),
                });
            }
        }
        let total: i64 = stacks.iter().sum();
        Self {
            summary: format!(
                "Tokens per hour by scheme from {} to {} UTC: {total} in total, at most {} in one hour.",
                since.format("%Y-%m-%d %H:00"),
                until.format("%Y-%m-%d %H:00"),
                stacks.iter().copied().max().unwrap_or(0),
            ),
            bars,
            ticks,
            legend,
            max: stacks.iter().copied().max().unwrap_or(0),
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            top: TOP,
            axis_y: HEIGHT - BOTTOM,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: i64) -> DateTime<Utc> {
        // 1_800_000_000 is a whole hour (500,000 hours after the epoch).
        DateTime::from_timestamp(1_800_000_000 + hour * 3600, 0).unwrap()
    }

    #[test]
    fn bars_stack_by_scheme_within_the_period_and_the_summary_counts_them() {
        let counts = [
            HourlyCount {
                hour: at(1),
                scheme: "auth_jwt".into(),
                tokens: 3,
            },
            HourlyCount {
                hour: at(1),
                scheme: "token_create".into(),
                tokens: 1,
            },
            HourlyCount {
                hour: at(5),
                scheme: "auth_jwt".into(),
                tokens: 2,
            },
            HourlyCount {
                hour: at(30),
                scheme: "auth_jwt".into(),
                tokens: 9,
            },
        ];

        let chart = Chart::new(at(0), at(24), &["token_create", "auth_jwt"], &counts);

        assert_eq!(
            chart.bars.len(),
            3,
            "the hour outside the period is not drawn"
        );
        assert_eq!(chart.max, 4);
        assert!(
            chart.summary.contains("6 in total, at most 4 in one hour"),
            "{}",
            chart.summary
        );
        assert_eq!(chart.legend.len(), 2);
        assert_eq!(
            chart.bars[0].color, PALETTE[0],
            "token_create first, in list order"
        );
        assert!(chart.bars.iter().all(|b| b.title.contains("token(s)")));
    }
}
