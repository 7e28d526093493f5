//! Hand-checked sequences and rules, worked out on paper from the kernel
//! sources (comments give the working).

use sched::{Destination, Error, Overhead, Scheduler, Service};

use crate::reference::{RefDest, RefService};

fn bound(scheduler: Scheduler, weights: &[i32]) -> Service {
    Service::with_destinations(scheduler, weights.iter().map(|&w| Destination::new(w))).unwrap()
}

fn picks(svc: &mut Service, n: usize) -> Vec<Option<usize>> {
    (0..n).map(|_| svc.pick()).collect()
}

fn some(v: &[usize]) -> Vec<Option<usize>> {
    v.iter().map(|&i| Some(i)).collect()
}

#[test]
fn wrr_4_3_2_classic_cycle() {
    // di = 1, mw = 4, cw = 4: [0] cw 3: [0 1] cw 2: [0 1 2] cw 1: [0 1 2].
    let mut svc = bound(Scheduler::Wrr, &[4, 3, 2]);
    let cycle = [0, 0, 1, 0, 1, 2, 0, 1, 2];
    let want: Vec<usize> = cycle.iter().chain(&cycle).chain(&cycle).copied().collect();
    assert_eq!(picks(&mut svc, 27), some(&want));
}

#[test]
fn wrr_gcd_steps_and_weight_zero() {
    // 4, 0, 2: di = 2, mw = 4 - 1 = 3. cw 3: [0]; cw 1: [0 2]; then again.
    let mut svc = bound(Scheduler::Wrr, &[4, 0, 2]);
    assert_eq!(picks(&mut svc, 6), some(&[0, 0, 2, 0, 0, 2]));
    // 6, 4, 2: di = 2, mw = 5. cw 5: [0]; 3: [0 1]; 1: [0 1 2].
    let mut svc = bound(Scheduler::Wrr, &[6, 4, 2]);
    assert_eq!(picks(&mut svc, 6), some(&[0, 0, 1, 0, 1, 2]));
}

#[test]
fn wrr_overloaded_and_nothing_available() {
    // 4 overloaded, 3, 2: mw still 4 (max over all weights), so the pass at
    // cw 4 finds nothing, cw 3: [1], cw 2: [1 2], cw 1: [1 2].
    let mut svc = bound(Scheduler::Wrr, &[4, 3, 2]);
    svc.set_overloaded(0, true).unwrap();
    assert_eq!(picks(&mut svc, 5), some(&[1, 1, 2, 1, 2]));
    svc.set_overloaded(1, true).unwrap();
    svc.set_overloaded(2, true).unwrap();
    assert_eq!(svc.pick(), None);
    let mut zero = bound(Scheduler::Wrr, &[0, 0]);
    assert_eq!(zero.pick(), None);
}

#[test]
fn wrr_weight_edit_runs_the_hook() {
    // Bound on 4, 3, 2: picks 0 0 1 (cw now 3, cl = 1). Edit d2 to 2 (no
    // change): cl back to the head, cw = 3 stays (di 1): [0 1] again.
    let mut svc = bound(Scheduler::Wrr, &[4, 3, 2]);
    assert_eq!(picks(&mut svc, 3), some(&[0, 0, 1]));
    svc.set_weight(2, 2).unwrap();
    assert_eq!(picks(&mut svc, 3), some(&[0, 1, 0]));
}

#[test]
fn rr_starts_at_zero_skips_and_survives_removal() {
    let mut svc = bound(Scheduler::Rr, &[1, 0, 1, 1]);
    assert_eq!(picks(&mut svc, 4), some(&[0, 2, 3, 0]));
    // The cursor is on index 0; removing it moves the cursor to the head,
    // so the next pick is the new index 0's successor chain from the top.
    svc.remove(0).unwrap(); // list now 0, 1, 1
    assert_eq!(svc.pick(), Some(1));
    // Cursor on index 1; remove it: cursor goes to index 0 (weight 0), the
    // next pick is its successor, the old index 2 (now 1).
    svc.remove(1).unwrap(); // list now 0, 1
    assert_eq!(svc.pick(), Some(1));
    // Adding at the head keeps the cursor on its destination.
    svc.add(Destination::new(1)).unwrap(); // list now 1, 0, 1; cursor on index 2
    assert_eq!(picks(&mut svc, 3), some(&[0, 2, 0]));
}

#[test]
fn nofn_runs_of_1_2_3() {
    let mut svc = bound(Scheduler::NofN, &[1, 1, 1]);
    assert_eq!(picks(&mut svc, 10), some(&[0, 1, 1, 2, 2, 2, 0, 0, 0, 0]));
}

#[test]
fn nofn_seed_is_the_patch_2_3_4() {
    let mut svc = bound(Scheduler::NofNSeed, &[1, 1, 1]);
    assert_eq!(
        picks(&mut svc, 12),
        some(&[0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0])
    );
}

#[test]
fn nofn_state_is_per_instance() {
    let mut a = bound(Scheduler::NofN, &[1, 1]);
    let mut b = bound(Scheduler::NofN, &[1, 1]);
    assert_eq!(picks(&mut a, 3), some(&[0, 1, 1]));
    // b is untouched by a's picks (the patch's globals would have leaked).
    assert_eq!(picks(&mut b, 3), some(&[0, 1, 1]));
}

#[test]
fn nofn_moves_past_an_ineligible_current() {
    let mut svc = bound(Scheduler::NofN, &[1, 1, 1]);
    assert_eq!(picks(&mut svc, 2), some(&[0, 1]));
    // Mid-run (1 of 2 on index 1), index 1 is quiesced: the scan from the
    // cursor takes index 2 to finish the run.
    svc.set_weight(1, 0).unwrap();
    assert_eq!(picks(&mut svc, 4), some(&[2, 0, 0, 0]));
}

#[test]
fn lc_overhead_current_versus_classic() {
    // d0: 1 active (current 257, classic 256); d1: 256 inactive (256 both).
    let dests = [
        Destination::new(1).with_counts(1, 0),
        Destination::new(1).with_counts(0, 256),
    ];
    let mut current = Service::with_destinations(Scheduler::Lc, dests).unwrap();
    assert_eq!(current.pick(), Some(1));
    let mut classic = current.clone().with_overhead(Overhead::Classic);
    // A tie: the earlier one wins.
    assert_eq!(classic.pick(), Some(0));
    classic.set_overhead(Overhead::Current);
    assert_eq!(classic.pick(), Some(1));
}

#[test]
fn lc_skips_weight_zero_and_overloaded() {
    let dests = [
        Destination::new(0),
        Destination::new(5).with_counts(0, 0).with_overloaded(true),
        Destination::new(1).with_counts(3, 0),
        Destination::new(9).with_counts(3, 0),
    ];
    let mut svc = Service::with_destinations(Scheduler::Lc, dests).unwrap();
    assert_eq!(svc.pick(), Some(2));
}

#[test]
fn wlc_cross_multiplied_with_ties_to_the_earlier() {
    // overheads 257·a: d0 2 active w 2 -> 514/2; d1 1 active w 1 -> 257/1:
    // equal ratios, the earlier wins.
    let dests = [
        Destination::new(2).with_counts(2, 0),
        Destination::new(1).with_counts(1, 0),
    ];
    let mut svc = Service::with_destinations(Scheduler::Wlc, dests).unwrap();
    assert_eq!(svc.pick(), Some(0));
    svc.connect(0).unwrap();
    assert_eq!(svc.pick(), Some(1));
    // Big weights and counts: the products need 64 bits.
    let dests = [
        Destination::new(65535).with_counts(4_000_000, 0),
        Destination::new(65534).with_counts(3_999_999, 0),
    ];
    let mut svc = Service::with_destinations(Scheduler::Wlc, dests).unwrap();
    // 4000000/65535 = 61.0361 < 3999999/65534 = 61.0370: d0 is less loaded.
    assert_eq!(svc.pick(), Some(0));
}

#[test]
fn sed_and_nq_differ_on_idle_servers() {
    // d0 w 10 with 1 active: sed cost 2/10; d1 w 1 idle: 1/1. sed takes d0,
    // nq takes the idle d1.
    let dests = [Destination::new(10).with_counts(1, 0), Destination::new(1)];
    let mut sed = Service::with_destinations(Scheduler::Sed, dests).unwrap();
    let mut nq = Service::with_destinations(Scheduler::Nq, dests).unwrap();
    assert_eq!(sed.pick(), Some(0));
    assert_eq!(nq.pick(), Some(1));
}

#[test]
fn fo_and_ovf() {
    let dests = [
        Destination::new(2),
        Destination::new(5),
        Destination::new(5),
        Destination::new(1),
    ];
    let mut fo = Service::with_destinations(Scheduler::Fo, dests).unwrap();
    assert_eq!(fo.pick(), Some(1));
    fo.set_overloaded(1, true).unwrap();
    assert_eq!(fo.pick(), Some(2));
    // ovf: the highest weight until its active connections exceed it.
    let mut ovf = Service::with_destinations(Scheduler::Ovf, dests).unwrap();
    let got: Vec<_> = (0..14).map(|_| ovf.pick_and_connect().unwrap()).collect();
    // d1 takes 6 (0..=5 active may still receive), then d2 6, then d0.
    let mut want = vec![Some(1); 6];
    want.extend([Some(2); 6]);
    want.extend([Some(0), Some(0)]);
    assert_eq!(got, want);
}

#[test]
fn thresholds_set_at_upper_clear_below_lower() {
    // upper 8, no lower: lower value 8 - 8/4 = 6.
    let mut svc =
        Service::with_destinations(Scheduler::Rr, [Destination::new(1).with_thresholds(8, 0)])
            .unwrap();
    for _ in 0..7 {
        svc.connect(0).unwrap();
    }
    assert!(!svc.destinations()[0].is_overloaded());
    svc.connect_inactive(0).unwrap();
    assert!(svc.destinations()[0].is_overloaded());
    assert_eq!(svc.pick(), None);
    svc.disconnect(0).unwrap(); // 7
    svc.disconnect(0).unwrap(); // 6: not below 6
    assert!(svc.destinations()[0].is_overloaded());
    // A state change keeps the total and the flag.
    svc.deactivate(0).unwrap();
    assert!(svc.destinations()[0].is_overloaded());
    svc.expire_inactive(0).unwrap(); // 5 < 6
    assert!(!svc.destinations()[0].is_overloaded());
    assert_eq!(svc.pick(), Some(0));
    // Thresholds re-evaluated at once when they change.
    svc.set_thresholds(0, 5, 2).unwrap();
    assert!(svc.destinations()[0].is_overloaded());
    svc.set_thresholds(0, 0, 0).unwrap();
    assert!(!svc.destinations()[0].is_overloaded());
    // upper 3: lower value 3 - 0 = 3.
    assert_eq!(Destination::new(1).with_thresholds(3, 0).lower_value(), 3);
}

#[test]
fn errors_name_the_input() {
    let mut svc = bound(Scheduler::Wlc, &[1]);
    assert_eq!(
        svc.add(Destination::new(-1)),
        Err(Error::NegativeWeight { weight: -1 })
    );
    assert_eq!(
        svc.set_thresholds(0, 2, 3),
        Err(Error::ThresholdOrder { lower: 3, upper: 2 })
    );
    assert_eq!(
        svc.set_thresholds(0, u32::MAX, 0),
        Err(Error::ThresholdTooLarge { upper: u32::MAX })
    );
    assert_eq!(
        svc.connect(3),
        Err(Error::IndexOutOfRange { index: 3, len: 1 })
    );
    assert_eq!(
        svc.disconnect(0),
        Err(Error::NoConnection {
            index: 0,
            counter: "active"
        })
    );
    assert_eq!(
        svc.set_weight(0, -5).unwrap_err().to_string(),
        "weight -5 is negative: expected 0 or more"
    );
    assert!("bogus".parse::<Scheduler>().is_err());
    for s in Scheduler::ALL {
        assert_eq!(s.name().parse::<Scheduler>(), Ok(s));
    }
}

#[test]
fn empty_service_picks_nothing() {
    for s in Scheduler::ALL {
        let mut svc = Service::new(s);
        assert_eq!(svc.pick(), None, "{s}");
        assert_eq!(svc.pick_and_connect(), Ok(None), "{s}");
    }
}

#[test]
fn wrr_skips_empty_passes_below_an_overloaded_heavyweight() {
    // 65535 (overloaded), 1, 1: di = 1, mw = 65535. The first pick runs
    // 65534 empty passes down to cw = 1, then takes index 1; index 2 next;
    // then cw restarts at 65535 and falls again to the last pass, which
    // (restarted, stop = index 2) finds index 1 from the head.
    let dests = [
        Destination::new(65535).with_overloaded(true),
        Destination::new(1),
        Destination::new(1),
    ];
    let mut svc = Service::with_destinations(Scheduler::Wrr, dests).unwrap();
    assert_eq!(picks(&mut svc, 6), some(&[1, 2, 1, 2, 1, 2]));
    // The literal model walks every one of those passes and agrees.
    let mut model = RefService::with_destinations(
        Scheduler::Wrr,
        vec![
            RefDest {
                overloaded: true,
                ..RefDest::new(65535)
            },
            RefDest::new(1),
            RefDest::new(1),
        ],
    );
    let walked: Vec<_> = (0..6).map(|_| model.pick()).collect();
    assert_eq!(walked, some(&[1, 2, 1, 2, 1, 2]));
    // All overloaded: nothing, and the next pick after clearing one works.
    svc.set_overloaded(1, true).unwrap();
    svc.set_overloaded(2, true).unwrap();
    assert_eq!(svc.pick(), None);
    svc.set_overloaded(0, false).unwrap();
    assert_eq!(svc.pick(), Some(0));
}
