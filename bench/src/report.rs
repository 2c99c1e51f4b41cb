//! The results table: each figure beside its ceiling, the ratio, its target (BENCHMARKS.md
//! "Targets") and whether it was met; printed as Markdown (so it can go into BENCHMARKS.md as
//! is) and written into the JSON figures file.

use serde_json::{Value, json};

/// How a figure is judged against its target (BENCHMARKS.md "Targets").
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub at_least: Option<f64>,
    pub at_most: Option<f64>,
    /// The figure must also be at least this share of its ceiling.
    pub ratio_at_least: Option<f64>,
}

impl Target {
    pub fn none() -> Target {
        Target::default()
    }

    pub fn at_least(v: f64) -> Target {
        Target {
            at_least: Some(v),
            ..Target::default()
        }
    }

    pub fn at_most(v: f64) -> Target {
        Target {
            at_most: Some(v),
            ..Target::default()
        }
    }

    fn is_set(&self) -> bool {
        self.at_least.is_some() || self.at_most.is_some() || self.ratio_at_least.is_some()
    }
}

/// The unit of a figure, which decides how it is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    PerSecond,
    Ms,
    Us,
    MB,
    Seconds,
    Percent,
    Count,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::PerSecond => "/s",
            Unit::Ms => " ms",
            Unit::Us => " µs",
            Unit::MB => " MB",
            Unit::Seconds => " s",
            Unit::Percent => " %",
            Unit::Count => "",
        }
    }

    fn format(self, v: f64) -> String {
        let number = match self {
            Unit::PerSecond | Unit::Count => thousands(v.round() as i64),
            Unit::Ms => format!("{v:.2}"),
            Unit::Us | Unit::MB | Unit::Percent => format!("{v:.1}"),
            Unit::Seconds => format!("{v:.2}"),
        };
        format!("{number}{}", self.suffix())
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    pub scenario: &'static str,
    pub figure: String,
    pub unit: Unit,
    pub value: Option<f64>,
    pub ceiling: Option<f64>,
    pub target: Target,
}

impl Row {
    pub fn new(scenario: &'static str, figure: impl Into<String>, unit: Unit, value: f64) -> Row {
        Row {
            scenario,
            figure: figure.into(),
            unit,
            value: value.is_finite().then_some(value),
            ceiling: None,
            target: Target::none(),
        }
    }

    pub fn ceiling(mut self, ceiling: Option<f64>) -> Row {
        self.ceiling = ceiling.filter(|c| c.is_finite() && *c > 0.0);
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = target;
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        Some(self.value? / self.ceiling?)
    }

    /// Whether the target is met; `None` when there is no target or no figure.
    pub fn met(&self) -> Option<bool> {
        if !self.target.is_set() {
            return None;
        }
        let v = self.value?;
        let mut ok = true;
        if let Some(min) = self.target.at_least {
            ok &= v >= min;
        }
        if let Some(max) = self.target.at_most {
            ok &= v <= max;
        }
        if let Some(share) = self.target.ratio_at_least {
            ok &= self.ratio().is_some_and(|r| r >= share);
        }
        Some(ok)
    }

    fn target_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(min) = self.target.at_least {
            parts.push(format!("≥ {}", self.unit.format(min)));
        }
        if let Some(max) = self.target.at_most {
            parts.push(format!("≤ {}", self.unit.format(max)));
        }
        if let Some(share) = self.target.ratio_at_least {
            parts.push(format!("≥ {:.0} % of ceiling", share * 100.0));
        }
        if parts.is_empty() {
            "—".into()
        } else {
            parts.join(", ")
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit.suffix().trim(),
            "ceiling": self.ceiling,
            "ratio": self.ratio(),
            "target": self.target_text(),
            "met": self.met(),
        })
    }
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | figure | value | ceiling | ratio | target | met? |\n\
         |---|---|---:|---:|---:|---|---|\n",
    );
    for row in rows {
        let value = row.value.map_or("n/a".into(), |v| row.unit.format(v));
        let ceiling = row.ceiling.map_or("—".into(), |c| row.unit.format(c));
        let ratio = row.ratio().map_or("—".into(), |r| format!("{r:.2}×"));
        let met = match row.met() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.scenario,
            row.figure,
            value,
            ceiling,
            ratio,
            row.target_text(),
            met
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_and_formats_a_row() {
        let row = Row::new("ingest", "events/s", Unit::PerSecond, 30_000.0)
            .ceiling(Some(50_000.0))
            .target(Target {
                at_least: Some(25_000.0),
                ratio_at_least: Some(0.5),
                ..Target::default()
            });
        assert_eq!(row.met(), Some(true));
        let table = markdown(&[row]);
        assert!(
            table.contains("| 30,000/s | 50,000/s | 0.60× | ≥ 25,000/s, ≥ 50 % of ceiling | yes |")
        );
        let slow = Row::new("latency", "p50", Unit::Ms, 3.0).target(Target::at_most(2.0));
        assert_eq!(slow.met(), Some(false));
        assert_eq!(Row::new("x", "y", Unit::Count, 1.0).met(), None);
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
