//! The administrator's federation-health page: deliveries per hour, the queue's depth and the
//! failing servers over the last day, drawn as SVG on the server (no script), from the samples
//! `federation::delivery::health` keeps, and the servers failing now, as `kindred deliveries`
//! lists them.

use crate::{
    context::Context,
    error::Error,
    federation::delivery::{
        health::{self, HealthHour},
        queue_summary,
    },
    http::web::{
        layout::{PageResult, page},
        session::Visitor,
    },
};
use axum::response::IntoResponse;
use maud::{Markup, html};

/// The drawing's size in SVG units (it scales to the page's width).
const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 180.0;
/// Room for the value axis on the left and the hours under the bars.
const LEFT_MARGIN: f64 = 48.0;
const BOTTOM_MARGIN: f64 = 22.0;
const TOP_MARGIN: f64 = 8.0;

/// One stacked part of a bar: its CSS class, its name in the legend, and its value in an hour
/// (`None`: nothing was sampled then).
struct Series {
    class: &'static str,
    label: &'static str,
    value: fn(&HealthHour) -> Option<i64>,
}

/// `GET /admin/federation` (administrators only).
pub async fn federation_health_page(context: Context, visitor: Visitor) -> PageResult {
    let signed_in = visitor.require()?;
    if !signed_in.account.user.is_admin {
        return Err(Error::Forbidden("only administrators see this page".into()).into());
    }
    let day = health::last_day(&context.read_db, chrono::Utc::now()).await?;
    let queue = queue_summary(&context.read_db).await?;
    let sampled = day.iter().any(|hour| hour.queue_depth.is_some());
    let delivered: i64 = day.iter().map(|hour| hour.delivered).sum();
    let failed: i64 = day.iter().map(|hour| hour.failed).sum();
    let refused: i64 = day.iter().map(|hour| hour.refused).sum();
    let body = html! {
        h1 { "Federation health" }
        p {
            "The last 24 hours, in UTC, from samples the delivery worker takes every "
            (health::SAMPLE_EVERY.as_secs() / 60) " minutes. "
            a href="/admin" { "Back to administration" }
        }
        @if !sampled {
            p.notice { "No samples yet: the delivery worker takes the first one five minutes after it starts." }
        }
        h2 id="deliveries-title" { "Deliveries per hour" }
        p.meta {
            (delivered) " delivered, " (failed) " failed (retried later), " (refused) " refused, over the day."
        }
        (stacked_bar_chart("deliveries", "Deliveries per hour", &day, &[
            Series { class: "delivered", label: "delivered", value: |hour| Some(hour.delivered) },
            Series { class: "failed", label: "failed", value: |hour| Some(hour.failed) },
            Series { class: "refused", label: "refused", value: |hour| Some(hour.refused) },
        ]))
        h2 id="queue-title" { "Queue depth" }
        p.meta { "The most deliveries waiting at once in each hour (retries due, parked, and fan-outs not finished)." }
        (stacked_bar_chart("queue", "Queue depth", &day, &[
            Series { class: "queue", label: "waiting", value: |hour| hour.queue_depth },
        ]))
        h2 id="failing-title" { "Failing servers" }
        p.meta { "The most servers failing or marked dead at once in each hour." }
        (stacked_bar_chart("failing", "Failing servers", &day, &[
            Series { class: "failed", label: "failing or dead", value: |hour| hour.failing_servers },
        ]))
        h2 { "Failing now" }
        @if queue.failing_instances.is_empty() && queue.dead_instances.is_empty() {
            p { "Every server answers." }
        } @else {
            table {
                thead { tr { th scope="col" { "Server" } th scope="col" { "State" } th scope="col" { "Since" } } }
                tbody {
                    @for (host, since, failures) in &queue.failing_instances {
                        tr {
                            td { (host) }
                            td { (failures) " " (if *failures == 1 { "failure" } else { "failures" }) " in a row" }
                            td { (since.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                    @for (host, since) in &queue.dead_instances {
                        tr {
                            td { (host) }
                            td { "dead: deliveries are parked (" code { "kindred deliveries retry --instance " (host) } ")" }
                            td { (since.format("%Y-%m-%d %H:%M")) }
                        }
                    }
                }
            }
        }
        details {
            summary { "The figures as a table" }
            table {
                thead {
                    tr {
                        th scope="col" { "Hour (UTC)" }
                        th scope="col" { "Delivered" }
                        th scope="col" { "Failed" }
                        th scope="col" { "Refused" }
                        th scope="col" { "Queue depth" }
                        th scope="col" { "Failing servers" }
                    }
                }
                tbody {
                    @for hour in &day {
                        tr {
                            td { (hour.hour.format("%H:00")) }
                            td { (hour.delivered) }
                            td { (hour.failed) }
                            td { (hour.refused) }
                            td { (optional(hour.queue_depth)) }
                            td { (optional(hour.failing_servers)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&context, &visitor, "Federation health", body).into_response())
}

fn optional(value: Option<i64>) -> String {
    value.map_or_else(|| "–".to_string(), |value| value.to_string())
}

/// The smallest of 1, 2 and 5 times a power of ten at or above `value` (at least 1): the top of
/// a chart's value axis.
fn axis_top(value: i64) -> i64 {
    let mut step = 1_i64;
    loop {
        for multiple in [1, 2, 5] {
            let top = step.saturating_mul(multiple);
            if top >= value || top == i64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// One bar an hour, its series stacked bottom to top, with the axis top and the hours every six
/// hours; a legend under it. `id` names the chart's `<title>` for screen readers.
fn stacked_bar_chart(id: &str, title: &str, day: &[HealthHour], series: &[Series]) -> Markup {
    let totals: Vec<i64> = day
        .iter()
        .map(|hour| {
            series
                .iter()
                .filter_map(|one| (one.value)(hour))
                .sum::<i64>()
        })
        .collect();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0));
    let plot_width = CHART_WIDTH - LEFT_MARGIN;
    let plot_height = CHART_HEIGHT - BOTTOM_MARGIN - TOP_MARGIN;
    let slot = plot_width / day.len().max(1) as f64;
    let bar_width = (slot - 4.0).max(1.0);
    let baseline = TOP_MARGIN + plot_height;
    let scale = |value: i64| value as f64 / top as f64 * plot_height;
    let description = day
        .iter()
        .zip(&totals)
        .max_by_key(|(_, total)| **total)
        .map(|(hour, total)| {
            format!(
                "Highest: {total} at {} UTC, of an axis up to {top}.",
                hour.hour.format("%H:00")
            )
        })
        .unwrap_or_default();
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (CHART_WIDTH) " " (CHART_HEIGHT) } role="img"
                aria-labelledby={ (id) "-chart-title " (id) "-chart-description" }
                xmlns="http://www.w3.org/2000/svg" {
                title id={ (id) "-chart-title" } { (title) }
                desc id={ (id) "-chart-description" } { (description) }
                line.axis x1=(LEFT_MARGIN) y1=(TOP_MARGIN) x2=(LEFT_MARGIN) y2=(baseline) {}
                line.axis x1=(LEFT_MARGIN) y1=(baseline) x2=(CHART_WIDTH) y2=(baseline) {}
                line.grid x1=(LEFT_MARGIN) y1=(TOP_MARGIN) x2=(CHART_WIDTH) y2=(TOP_MARGIN) {}
                text.axis-label x=(LEFT_MARGIN - 6.0) y=(TOP_MARGIN + 10.0) text-anchor="end" { (top) }
                text.axis-label x=(LEFT_MARGIN - 6.0) y=(baseline) text-anchor="end" { "0" }
                @for (index, hour) in day.iter().enumerate() {
                    @let x = LEFT_MARGIN + index as f64 * slot + 2.0;
                    @let parts = stacked_parts(hour, series, baseline, &scale);
                    @for (class, label, value, y, height) in parts {
                        rect class=(class) x=(format!("{x:.1}")) y=(format!("{y:.1}"))
                            width=(format!("{bar_width:.1}")) height=(format!("{height:.1}")) {
                            title { (hour.hour.format("%H:00")) ": " (value) " " (label) }
                        }
                    }
                    @if index % 6 == 0 {
                        text.axis-label x=(format!("{:.1}", x + bar_width / 2.0)) y=(CHART_HEIGHT - 6.0)
                            text-anchor="middle" { (hour.hour.format("%H:00")) }
                    }
                }
            }
            figcaption.legend {
                @for one in series {
                    span class={ "key " (one.class) } {} " " (one.label) " "
                }
            }
        }
    }
}

/// The rectangles of one hour's bar, bottom up: class, label, value, top and height. Series
/// with nothing in the hour draw nothing.
fn stacked_parts(
    hour: &HealthHour,
    series: &[Series],
    baseline: f64,
    scale: &dyn Fn(i64) -> f64,
) -> Vec<(&'static str, &'static str, i64, f64, f64)> {
    let mut parts = Vec::new();
    let mut bottom = baseline;
    for one in series {
        let Some(value) = (one.value)(hour).filter(|value| *value > 0) else {
            continue;
        };
        let height = scale(value);
        bottom -= height;
        parts.push((one.class, one.label, value, bottom, height));
    }
    parts
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_ends_at_a_round_number_at_or_above_the_highest_bar() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(4_321), 5_000);
        assert_eq!(axis_top(i64::MAX), i64::MAX);
    }

    #[test]
    fn bars_are_as_tall_as_their_share_of_the_axis() {
        let start = chrono::Utc::now();
        let day: Vec<HealthHour> = (0..24)
            .map(|offset| HealthHour {
                hour: start + chrono::Duration::hours(offset),
                delivered: if offset == 23 { 80 } else { 0 },
                failed: if offset == 23 { 20 } else { 0 },
                refused: 0,
                queue_depth: None,
                failing_servers: None,
            })
            .collect();
        let chart = stacked_bar_chart(
            "test",
            "Deliveries <per> hour",
            &day,
            &[
                Series {
                    class: "delivered",
                    label: "delivered",
                    value: |hour| Some(hour.delivered),
                },
                Series {
                    class: "failed",
                    label: "failed",
                    value: |hour| Some(hour.failed),
                },
            ],
        )
        .into_string();
        // The axis tops at 100, the plot is 150 high: 80 is 120 units and 20 is 30, stacked.
        let plot_height = CHART_HEIGHT - BOTTOM_MARGIN - TOP_MARGIN;
        assert_eq!(plot_height, 150.0);
        assert!(chart.contains("class=\"delivered\""), "{chart}");
        assert!(chart.contains("height=\"120.0\""), "{chart}");
        assert!(chart.contains("height=\"30.0\""), "{chart}");
        assert!(
            chart.contains("y=\"38.0\""),
            "80 sits on the baseline: {chart}"
        );
        assert!(chart.contains("y=\"8.0\""), "20 sits on top: {chart}");
        assert_eq!(
            chart.matches("<rect").count(),
            2,
            "empty hours draw nothing"
        );
        assert!(chart.contains("Deliveries &lt;per&gt; hour"), "escaped");
        assert!(chart.contains(">100</text>"));
    }
}
