//! `/gaps` is streamed a few features at a time (`export::GapsGeojson`) so its answer never
//! exists whole in memory; these tests hold the streamed bytes to the whole-tree rendering
//! (`export::gaps_geojson`), byte for byte, across categories, thresholds, profiles,
//! communities and coordinate systems.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use servicemap::analysis::export;
use servicemap::model::Crs;
use servicemap::model::Profile;

#[actix_web::test]
async fn streamed_gaps_equal_the_whole_tree_byte_for_byte() {
    let svc = common::geodata();
    let c = common::client(svc.clone()).await;
    let pl = svc.planner.as_ref().expect("geodata has walkways");
    let cases: [(&str, f64, Profile, Option<&str>, Crs); 5] = [
        ("elder_canteen", 5.0, Profile::Elder, None, Crs::Wgs84),
        ("elder_canteen", 15.0, Profile::Standard, None, Crs::Wgs84),
        (
            "community_health_station",
            2.0,
            Profile::Standard,
            None,
            Crs::Gcj02,
        ),
        ("pharmacy", 10.0, Profile::Elder, None, Crs::Bd09),
        ("kindergarten", 3.0, Profile::Standard, Some(""), Crs::Wgs84),
    ];
    let mut checked = 0;
    for (category, minutes, profile, community, crs) in cases {
        // The last case takes the first community in the data, whatever the data is.
        let community = community.map(|_| {
            svc.dataset
                .layer(servicemap::model::LayerId::Communities)
                .unwrap()
                .first()
                .unwrap()
                .id
                .clone()
        });
        let r = pl
            .gaps(category, minutes, profile, community.as_deref())
            .unwrap();
        let want = export::gaps_geojson(&r, &pl.world.buildings, &svc.dataset, crs).to_string();
        let mut uri = format!(
            "/gaps?category={category}&minutes={minutes}&profile={}&coords={}",
            profile.as_str(),
            crs.as_str()
        );
        if let Some(c) = &community {
            uri.push_str(&format!("&community={c}"));
        }
        let got = c.get(&uri).await;
        assert_eq!(got.status, 200, "{uri}: {}", got.text());
        assert_eq!(got.content_type, "application/geo+json", "{uri}");
        assert!(
            got.text() == want,
            "{uri}: streamed body differs from the whole tree ({} vs {} bytes)",
            got.body.len(),
            want.len()
        );
        // The answer spans several chunks, so the joins between them are tested too.
        checked += usize::from(want.len() > 3 * 64 * 1024);
    }
    assert!(checked > 0, "no case was large enough to span chunks");
}
