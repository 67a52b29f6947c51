use super::*;

#[test]
fn six_fields_tick_every_two_seconds() {
    let t = Timing::parse("*/2 * * * * *", "UTC").unwrap();
    assert_eq!(t.next_after(1_000_000_000_500), Some(1_000_000_002_000));
    assert_eq!(t.latest_due(0, 1_000_000_001_999), Some(1_000_000_000_000));
    assert_eq!(t.latest_due(1_000_000_000_000, 1_000_000_001_999), None);
}

#[test]
fn five_fields_are_minutes() {
    let t = Timing::parse("*/5 * * * *", "UTC").unwrap();
    assert_eq!(t.next_after(0), Some(300_000));
    assert_eq!(t.latest_due(0, 599_999), Some(300_000));
}

#[test]
fn named_zones_move_the_ticks() {
    // 9:00 in Paris is 8:00 UTC in winter (1 Jan 1970 was winter too).
    let t = Timing::parse("0 9 * * *", "Europe/Paris").unwrap();
    assert_eq!(t.next_after(0), Some(8 * 3_600_000));
}

#[test]
fn bad_input_names_the_field() {
    for (cron, tz, field) in [
        ("* * *", "UTC", "cron"),
        ("61 * * * * *", "UTC", "cron"),
        ("* * * * * * *", "UTC", "cron"),
        ("nonsense", "UTC", "cron"),
        ("* * * * *", "Mars/Olympus", "timezone"),
        ("0 0 31 2 *", "UTC", "cron"),
    ] {
        let err = Timing::parse(cron, tz).unwrap_err();
        assert_eq!(err.field(), Some(field), "{cron} {tz}: {err}");
    }
    for bad in ["", "a b", ".x", "-x", "é", &"x".repeat(129)] {
        assert_eq!(check_name(bad).unwrap_err().field(), Some("name"), "{bad:?}");
    }
    check_name("nightly-brief_v2.1").unwrap();
}

#[test]
fn ticks_print_as_rfc3339_utc() {
    assert_eq!(rfc3339(1_000_000_002_000), "2001-09-09T01:46:42Z");
    assert_eq!(CatchUp::parse("skip").unwrap(), CatchUp::Skip);
    assert_eq!(CatchUp::parse("later").unwrap_err().field(), Some("catch_up"));
    let o: ScheduleOptions = serde_json::from_value(serde_json::json!({"catch_up": "skip"})).unwrap();
    assert_eq!(o.catch_up, CatchUp::Skip);
}

#[test]
fn options_read_in_both_spellings() {
    use crate::wire::{from_value, Style};
    let o: ScheduleOptions = from_value(serde_json::json!({"catchUp": "skip", "timezone": "Europe/Paris"}), Style::Camel).unwrap();
    assert_eq!((o.catch_up, o.timezone.as_deref()), (CatchUp::Skip, Some("Europe/Paris")));
    let o: ScheduleOptions = from_value(serde_json::json!({"catch_up": "run_once"}), Style::Snake).unwrap();
    assert_eq!((o.catch_up, o.timezone), (CatchUp::RunOnce, None));
    let err = from_value::<ScheduleOptions>(serde_json::json!({"catchUp": "later"}), Style::Camel).unwrap_err();
    assert_eq!(err.field(), Some("catchUp"), "{err}");
    let err = from_value::<ScheduleOptions>(serde_json::json!({"catchup": "skip"}), Style::Camel).unwrap_err();
    assert_eq!(err.field(), Some("catchup"), "{err}");
}

#[test]
fn due_lists_the_newest_ticks_oldest_first() {
    let t = Timing::parse("*/2 * * * * *", "UTC").unwrap();
    let base = 1_000_000_000_000;
    // A look 7 s late sees the ticks at +2, +4 and +6 s, each one.
    assert_eq!(t.due(base, base + 7_500, 10), vec![base + 2_000, base + 4_000, base + 6_000]);
    // Capped: the newest two.
    assert_eq!(t.due(base, base + 7_500, 2), vec![base + 4_000, base + 6_000]);
    assert!(t.due(base + 6_000, base + 7_999, 10).is_empty());
}
