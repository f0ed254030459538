//! The modelled physical geography: the Yangtze and 花溪河, the outer limit of the
//! subdistrict, and a hilly elevation field. All positions in local metres of [`frame`].

use crate::model::LocalProj;

/// The local frame of the model: centred on 李家沱 (106.53 E, 29.47 N).
#[must_use]
pub fn frame() -> LocalProj {
    LocalProj::new(106.53, 29.47)
}

/// Yangtze centreline, south-west to north-east (facts.md, "Geography"), WGS84.
pub const YANGTZE_CENTRELINE: [(f64, f64); 11] = [
    (106.488, 29.420),
    (106.490, 29.450),
    (106.492, 29.465),
    (106.494, 29.478),
    (106.505, 29.487),
    (106.520, 29.484),
    (106.530, 29.478),
    (106.540, 29.478),
    (106.547, 29.485),
    (106.547, 29.505),
    (106.548, 29.530),
];

/// Half the Yangtze's width in metres (the river is ~500–700 m wide here).
pub const YANGTZE_HALF_WIDTH_M: f64 = 290.0;

/// 花溪河: enters from the south and runs north to the Yangtze between 马王坪 and 群乐 (modelled course).
pub const HUAXI_CENTRELINE: [(f64, f64); 8] = [
    (106.547, 29.440),
    (106.545, 29.452),
    (106.548, 29.459),
    (106.544, 29.465),
    (106.546, 29.470),
    (106.543, 29.475),
    (106.544, 29.479),
    (106.544, 29.484),
];

/// Half the creek's width in metres.
pub const HUAXI_HALF_WIDTH_M: f64 = 14.0;

/// Normal water level of the Three Gorges reservoir at Chongqing, metres.
pub const WATER_LEVEL_M: f64 = 175.0;

/// A polyline in local metres with distance queries.
#[derive(Debug, Clone)]
pub struct Polyline {
    pub pts: Vec<(f64, f64)>,
}

impl Polyline {
    #[must_use]
    pub fn from_lonlat(proj: &LocalProj, pts: &[(f64, f64)]) -> Self {
        Polyline {
            pts: pts.iter().map(|&(lon, lat)| proj.to_xy(lon, lat)).collect(),
        }
    }

    /// Distance to the line and which side: positive on the right of the direction of travel.
    #[must_use]
    pub fn signed_distance(&self, x: f64, y: f64) -> f64 {
        let mut best = f64::INFINITY;
        let mut sign = 1.0;
        for w in self.pts.windows(2) {
            let (ax, ay) = w[0];
            let (bx, by) = w[1];
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
            let (px, py) = (ax + t * dx, ay + t * dy);
            let d = (x - px).hypot(y - py);
            if d < best {
                best = d;
                // Cross product of travel direction and offset: negative means right-hand side.
                let cross = dx * (y - ay) - dy * (x - ax);
                sign = if cross <= 0.0 { 1.0 } else { -1.0 };
            }
        }
        best * sign
    }

    #[must_use]
    pub fn distance(&self, x: f64, y: f64) -> f64 {
        self.signed_distance(x, y).abs()
    }

    /// Polygon of the band within `half_width_m` of the line (left offset out, right offset back).
    #[must_use]
    pub fn band(&self, half_width_m: f64) -> Vec<(f64, f64)> {
        let n = self.pts.len();
        let normal = |i: usize| -> (f64, f64) {
            // Average of adjacent segment normals (left-hand), so joins are mitred.
            let seg = |a: usize, b: usize| {
                let (dx, dy) = (self.pts[b].0 - self.pts[a].0, self.pts[b].1 - self.pts[a].1);
                let l = dx.hypot(dy);
                (-dy / l, dx / l)
            };
            let (nx, ny) = if i == 0 {
                seg(0, 1)
            } else if i == n - 1 {
                seg(n - 2, n - 1)
            } else {
                let (a, b) = (seg(i - 1, i), seg(i, i + 1));
                let (sx, sy) = (a.0 + b.0, a.1 + b.1);
                let l = sx.hypot(sy);
                // Unit bisector (not mitred): the band then lies inside the true buffer, so
                // anything kept `half_width_m` clear of the line stays clear of the polygon.
                (sx / l, sy / l)
            };
            (nx, ny)
        };
        let mut ring: Vec<(f64, f64)> = Vec::with_capacity(2 * n + 1);
        // Right side forward, left side back: counter-clockwise.
        for i in 0..n {
            let (nx, ny) = normal(i);
            ring.push((
                self.pts[i].0 - nx * half_width_m,
                self.pts[i].1 - ny * half_width_m,
            ));
        }
        for i in (0..n).rev() {
            let (nx, ny) = normal(i);
            ring.push((
                self.pts[i].0 + nx * half_width_m,
                self.pts[i].1 + ny * half_width_m,
            ));
        }
        ring.push(ring[0]);
        ring
    }
}

/// The geography of the model in local metres.
#[derive(Debug, Clone)]
pub struct Terrain {
    pub proj: LocalProj,
    pub yangtze: Polyline,
    pub huaxi: Polyline,
    /// Outer limit of the subdistrict away from the river (south and east), local metres.
    pub outer: Vec<(f64, f64)>,
    hills: Vec<Hill>,
}

#[derive(Debug, Clone, Copy)]
struct Hill {
    x: f64,
    y: f64,
    height_m: f64,
    sigma_m: f64,
}

/// Hand-drawn outer limit (WGS84), generous over the river, which cuts it on the west and
/// north; the calibration shrinks or grows it until the land inside is 11.2 km².
const OUTER_LIMIT: [(f64, f64); 12] = [
    (106.470, 29.500),
    (106.575, 29.500),
    (106.575, 29.476),
    (106.576, 29.462),
    (106.569, 29.452),
    (106.551, 29.454),
    (106.540, 29.455),
    (106.528, 29.453),
    (106.516, 29.455),
    (106.505, 29.452),
    (106.494, 29.449),
    (106.470, 29.449),
];

/// Hills (WGS84 centre, height above the riverside terrace, spread). Modelled on the
/// relief of the area: ridges south and east of the old centre, the campus hill of
/// 重庆理工大学, the high ground towards 八公里 and 九公里.
const HILLS: [(f64, f64, f64, f64); 9] = [
    (106.527, 29.460, 95.0, 420.0),
    (106.552, 29.462, 120.0, 600.0),
    (106.563, 29.472, 110.0, 520.0),
    (106.540, 29.456, 90.0, 500.0),
    (106.510, 29.458, 70.0, 450.0),
    (106.519, 29.470, 45.0, 260.0),
    (106.536, 29.464, 50.0, 280.0),
    (106.566, 29.484, 70.0, 400.0),
    (106.503, 29.468, 35.0, 300.0),
];

impl Terrain {
    #[must_use]
    pub fn new() -> Self {
        let proj = frame();
        Terrain {
            yangtze: Polyline::from_lonlat(&proj, &YANGTZE_CENTRELINE),
            huaxi: Polyline::from_lonlat(&proj, &HUAXI_CENTRELINE),
            outer: OUTER_LIMIT
                .iter()
                .map(|&(lon, lat)| proj.to_xy(lon, lat))
                .collect(),
            hills: HILLS
                .iter()
                .map(|&(lon, lat, h, s)| {
                    let (x, y) = proj.to_xy(lon, lat);
                    Hill {
                        x,
                        y,
                        height_m: h,
                        sigma_m: s,
                    }
                })
                .collect(),
            proj,
        }
    }

    /// Distance from the Yangtze's south/east bank into the land, metres (negative in the river
    /// or on the far bank).
    #[must_use]
    pub fn bank_distance_m(&self, x: f64, y: f64) -> f64 {
        self.yangtze.signed_distance(x, y) - YANGTZE_HALF_WIDTH_M
    }

    /// Is the point in 花溪河?
    #[must_use]
    pub fn in_creek(&self, x: f64, y: f64, margin_m: f64) -> bool {
        self.huaxi.distance(x, y) <= HUAXI_HALF_WIDTH_M + margin_m
            && y <= self.huaxi.pts.last().map_or(f64::INFINITY, |p| p.1) + 10.0
    }

    /// Signed distance inside the outer limit polygon (positive inside), metres.
    #[must_use]
    pub fn outer_depth_m(&self, x: f64, y: f64) -> f64 {
        let n = self.outer.len();
        let mut inside = false;
        let mut best = f64::INFINITY;
        for i in 0..n {
            let (ax, ay) = self.outer[i];
            let (bx, by) = self.outer[(i + 1) % n];
            if (ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay) {
                inside = !inside;
            }
            let (dx, dy) = (bx - ax, by - ay);
            let t = (((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            best = best.min((x - ax - t * dx).hypot(y - ay - t * dy));
        }
        if inside { best } else { -best }
    }

    /// Ground elevation in metres above sea level: a steep riverside terrace rising from the
    /// reservoir level, hills, and the 花溪河 valley cut into them.
    #[must_use]
    pub fn elevation_m(&self, x: f64, y: f64) -> f64 {
        let bank = self.bank_distance_m(x, y).max(0.0);
        let mut z = WATER_LEVEL_M + 3.0 + 70.0 * (1.0 - (-bank / 260.0).exp()) + 0.018 * bank;
        for h in &self.hills {
            let d2 = (x - h.x).powi(2) + (y - h.y).powi(2);
            z += h.height_m * (-d2 / (2.0 * h.sigma_m * h.sigma_m)).exp();
        }
        // Small-scale relief: terraces and spurs.
        z += 6.0 * (x / 137.0).sin() * (y / 173.0).cos() + 4.0 * ((x + 2.0 * y) / 97.0).sin();
        let creek = self.huaxi.distance(x, y);
        let valley = 1.0 - (-(creek / 160.0).powi(2)).exp();
        let floor =
            WATER_LEVEL_M + 4.0 + 0.004 * (-(self.yangtze.distance(x, y))).max(-4000.0).abs();
        z = floor + (z - floor) * valley.max(0.05);
        z.clamp(WATER_LEVEL_M + 1.0, 420.0)
    }
}

impl Default for Terrain {
    fn default() -> Self {
        Self::new()
    }
}
