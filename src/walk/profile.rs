//! Walking profiles: how fast a person walks each kind of walkway, uphill and downhill.
//!
//! Every cost is in seconds and depends only on the walkway kind, the horizontal run (m)
//! and the signed rise (m) in the direction of travel, so the graph can precompute it per
//! edge, per profile and per direction.
//!
//! * **Flat speeds.** `standard` 4.0 km/h: GB 50180-2018 equates the 15-minute living circle
//!   with about 1,000 m of walking. `elder` 3.2 km/h: the 800 m end of the same range, and
//!   the low end of the 3.2–4.7 km/h reported for older adults. `wheelchair` 3.3 km/h
//!   (0.91 m/s, 3 ft/s): the walking speed the US MUTCD (2009, §4E.06) tells engineers to
//!   use where wheelchair users and slower pedestrians routinely cross.
//! * **Slopes.** Off stairs, speed is the flat speed times Tobler's hiking function relative
//!   to the flat: `factor(s) = v(s) / v(0)` with `v(s) = 6·exp(−3.5·|s + 0.05|)` km/h and
//!   `s = rise / run` signed in the direction of travel (Tobler 1993, "Three presentations on
//!   geographical analysis and modeling"). The factor peaks at 1.19 on a 5 % descent and is
//!   0.84 on a 5 % climb, 0.50 on a 15 % climb.
//! * **Stairs.** Time = horizontal run at the flat speed + |rise| ÷ a vertical speed that
//!   differs up and down. `standard`: 0.45 m/s up, 0.60 m/s down; `elder`: 0.28 m/s up,
//!   0.38 m/s down. On a typical 17 cm × 28 cm stair these give horizontal speeds of about
//!   0.44 m/s up and 0.52 m/s down for `standard`, near Fruin's (1971, "Pedestrian Planning
//!   and Design") means of roughly 0.5 m/s up and 0.6–0.8 m/s down; `elder` is about 40 %
//!   slower on the vertical, in line with the slower stair speeds Fruin reports for people
//!   over 50, so stairs weigh more in an elder's route choice. `wheelchair` never uses stairs
//!   (the edge is impassable: cost `+∞`). Stairs without elevation data cost only their
//!   horizontal time.

use std::fmt;

use serde::Serialize;

use crate::model::WalkwayKind;

/// Number of profiles; edges store one cost per profile and direction.
pub const PROFILE_COUNT: usize = 3;

pub use crate::model::{Profile, UnknownProfile};

/// A serialisable description of a profile, for `GET /profiles`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileInfo {
    pub id: &'static str,
    pub description: &'static str,
    /// Speed on level ground, km/h.
    pub flat_speed_kmh: f64,
    /// Vertical speed climbing stairs, m/s; `None` when the profile never uses stairs.
    pub stairs_up_vertical_m_per_s: Option<f64>,
    /// Vertical speed descending stairs, m/s; `None` when the profile never uses stairs.
    pub stairs_down_vertical_m_per_s: Option<f64>,
    pub uses_stairs: bool,
    /// How slopes change speed off stairs.
    pub slope_model: &'static str,
    pub sources: &'static [&'static str],
}

const TOBLER: &str = "Tobler's hiking function relative to flat: factor = exp(-3.5*|s+0.05|) / exp(-3.5*0.05), s = rise/run in the direction of travel";

impl Profile {
    pub const ALL: [Profile; PROFILE_COUNT] =
        [Profile::Standard, Profile::Elder, Profile::Wheelchair];

    /// Index into per-profile arrays (0..[`PROFILE_COUNT`]).
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Profile::Standard => 0,
            Profile::Elder => 1,
            Profile::Wheelchair => 2,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::Elder => "elder",
            Profile::Wheelchair => "wheelchair",
        }
    }

    /// Speed on level ground in metres per second.
    #[must_use]
    pub fn flat_speed_m_per_s(self) -> f64 {
        let kmh = match self {
            Profile::Standard => 4.0,
            Profile::Elder => 3.2,
            Profile::Wheelchair => 3.3,
        };
        kmh / 3.6
    }

    /// Vertical speeds on stairs (up, down) in m/s; `None` when the profile cannot use stairs.
    #[must_use]
    pub fn stairs_vertical_m_per_s(self) -> Option<(f64, f64)> {
        match self {
            Profile::Standard => Some((0.45, 0.60)),
            Profile::Elder => Some((0.28, 0.38)),
            Profile::Wheelchair => None,
        }
    }

    /// Seconds to traverse a straight piece of walkway of kind `kind` with horizontal length
    /// `run_m` and signed rise `rise_m` (positive uphill in the direction of travel).
    ///
    /// Returns `f64::INFINITY` when the profile cannot use the walkway (stairs in a wheelchair).
    /// A zero `run_m` costs only the vertical time on stairs and nothing elsewhere.
    #[must_use]
    pub fn segment_cost_s(self, kind: WalkwayKind, run_m: f64, rise_m: f64) -> f64 {
        let v_flat = self.flat_speed_m_per_s();
        if kind == WalkwayKind::Stairs {
            return match self.stairs_vertical_m_per_s() {
                None => f64::INFINITY,
                Some((up, down)) => {
                    let v_vert = if rise_m >= 0.0 { up } else { down };
                    run_m / v_flat + rise_m.abs() / v_vert
                }
            };
        }
        if run_m <= 0.0 {
            return 0.0;
        }
        run_m / (v_flat * tobler_factor(rise_m / run_m))
    }

    /// The description served by `GET /profiles`.
    #[must_use]
    pub fn info(self) -> ProfileInfo {
        let stairs = self.stairs_vertical_m_per_s();
        let (description, sources): (&str, &[&str]) = match self {
            Profile::Standard => (
                "Adult pedestrian: 4.0 km/h on the flat, so a 15-minute walk is about 1,000 m as GB 50180-2018 assumes.",
                &[
                    "GB 50180-2018: 15-minute living circle = 800-1000 m walking",
                    "Tobler 1993 (hiking function)",
                    "Fruin 1971, Pedestrian Planning and Design (stair speeds)",
                ],
            ),
            Profile::Elder => (
                "Older pedestrian: 3.2 km/h on the flat (800 m in 15 minutes) and about 40% slower on stairs.",
                &[
                    "GB 50180-2018: 800 m lower end of the 15-minute circle",
                    "older adults walk about 3.2-4.7 km/h",
                    "Fruin 1971 (slower stair speeds over 50)",
                ],
            ),
            Profile::Wheelchair => (
                "Wheelchair user: 3.3 km/h (0.91 m/s) on the flat; never uses stairs.",
                &[
                    "MUTCD 2009 §4E.06: 3 ft/s where wheelchair users routinely cross",
                    "Tobler 1993",
                ],
            ),
        };
        ProfileInfo {
            id: self.as_str(),
            description,
            flat_speed_kmh: self.flat_speed_m_per_s() * 3.6,
            stairs_up_vertical_m_per_s: stairs.map(|s| s.0),
            stairs_down_vertical_m_per_s: stairs.map(|s| s.1),
            uses_stairs: stairs.is_some(),
            slope_model: TOBLER,
            sources,
        }
    }
}

/// Tobler's hiking function relative to level ground: `v(s) / v(0)` for a signed slope
/// `s = rise / run` (dimensionless). 1.0 on the flat; maximum ≈1.19 at `s = −0.05`.
#[must_use]
pub fn tobler_factor(slope: f64) -> f64 {
    (-3.5 * (slope + 0.05).abs()).exp() / (-3.5_f64 * 0.05).exp()
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobler_factor_values() {
        assert!((tobler_factor(0.0) - 1.0).abs() < 1e-12);
        assert!((tobler_factor(-0.05) - 0.175_f64.exp()).abs() < 1e-12);
        // 10 % uphill: exp(-3.5*0.15)/exp(-0.175) = exp(-0.35)
        assert!((tobler_factor(0.10) - (-0.35_f64).exp()).abs() < 1e-12);
        // -10 % is faster than +10 % but slower than -5 %.
        assert!(tobler_factor(-0.10) > tobler_factor(0.10));
        assert!(tobler_factor(-0.10) < tobler_factor(-0.05));
        assert!(
            (tobler_factor(-0.10) - 1.0).abs() < 1e-12,
            "symmetric about -0.05"
        );
    }

    #[test]
    fn flat_speeds_match_the_standard() {
        // 15 minutes on the flat: 1,000 m standard, 800 m elder.
        let s = Profile::Standard.segment_cost_s(WalkwayKind::Street, 1000.0, 0.0);
        assert!((s - 900.0).abs() < 1e-9);
        let e = Profile::Elder.segment_cost_s(WalkwayKind::Footway, 800.0, 0.0);
        assert!((e - 900.0).abs() < 1e-9);
    }

    #[test]
    fn slopes_cost_more_uphill() {
        let p = Profile::Standard;
        let up = p.segment_cost_s(WalkwayKind::Street, 100.0, 10.0);
        let down = p.segment_cost_s(WalkwayKind::Street, 100.0, -10.0);
        let flat = p.segment_cost_s(WalkwayKind::Street, 100.0, 0.0);
        assert!(up > flat && flat > down * 0.99, "{up} {flat} {down}");
        assert!((up - 100.0 / (p.flat_speed_m_per_s() * (-0.35_f64).exp())).abs() < 1e-9);
    }

    #[test]
    fn stairs_use_vertical_speed_and_elder_is_slower() {
        let run = 28.0;
        let rise = 17.0;
        let s_up = Profile::Standard.segment_cost_s(WalkwayKind::Stairs, run, rise);
        let s_down = Profile::Standard.segment_cost_s(WalkwayKind::Stairs, run, -rise);
        assert!((s_up - (run / (4.0 / 3.6) + rise / 0.45)).abs() < 1e-9);
        assert!((s_down - (run / (4.0 / 3.6) + rise / 0.60)).abs() < 1e-9);
        assert!(s_up > s_down);
        let e_up = Profile::Elder.segment_cost_s(WalkwayKind::Stairs, run, rise);
        // The stairs penalty (time beyond the same run on the flat) is larger for elders.
        let s_pen = s_up - Profile::Standard.segment_cost_s(WalkwayKind::Street, run, 0.0);
        let e_pen = e_up - Profile::Elder.segment_cost_s(WalkwayKind::Street, run, 0.0);
        assert!(e_pen > 1.5 * s_pen, "{e_pen} vs {s_pen}");
        // Horizontal-equivalent speed up a standard stair is about Fruin's 0.5 m/s.
        let v_h = run / s_up;
        assert!((0.4..0.6).contains(&v_h), "{v_h}");
    }

    #[test]
    fn wheelchair_forbids_stairs_only() {
        let w = Profile::Wheelchair;
        assert!(
            w.segment_cost_s(WalkwayKind::Stairs, 10.0, 5.0)
                .is_infinite()
        );
        assert!(
            w.segment_cost_s(WalkwayKind::Stairs, 10.0, 0.0)
                .is_infinite()
        );
        assert!(w.segment_cost_s(WalkwayKind::Bridge, 10.0, 0.0).is_finite());
        assert!(!w.info().uses_stairs);
    }

    #[test]
    fn parses_and_describes() {
        for p in Profile::ALL {
            assert_eq!(p.as_str().parse::<Profile>(), Ok(p));
            let json = serde_json::to_value(p.info()).expect("serialise");
            assert_eq!(json["id"], p.as_str());
        }
        assert!("runner".parse::<Profile>().is_err());
        assert_eq!(Profile::default(), Profile::Standard);
    }
}
