//! The short ways of converting logs against the plain ones: the consistency
//! check and the CSV writer decode fields straight from their digits when the
//! rule says which scheme decodes a label (`DecodeRule::scheme`), and the
//! writer copies the raw column from the bytes read (`LogReader::raw`,
//! `RecordWriter::write_received`). Each must give exactly what the plain
//! way gives: the same verdicts (floats bit for bit) and the same bytes.

use hpm_frame::{
    DecodeError, Frame, LogReader, LogRecord, RecordWriter,
    check::Check,
    decode::{Column, Decimal, DecodeRule, Entry, Quantity, Scheme, TableRule, Unit, Value},
    field::{Field, Label},
    frame::{Form, Separator},
    log::LogKind,
    output::Format,
};
use proptest::prelude::*;
use time::{OffsetDateTime, UtcOffset};

use crate::props::arb_frame;
use crate::roundtrip::{arb_timed_frames, log_of};

/// A rule that never names its scheme: everything through the rule.
#[derive(Debug, Clone)]
struct Plain(TableRule);

impl DecodeRule for Plain {
    fn columns(&self) -> Vec<Column> {
        self.0.columns()
    }

    fn decode(&self, field: &Field) -> Result<Value, DecodeError> {
        self.0.decode(field)
    }

    fn amount(&self, field: &Field) -> Option<(Decimal, Unit)> {
        self.0.amount(field)
    }

    fn shown(&self, field: &Field) -> Option<(Decimal, Unit, f64)> {
        self.0.shown(field)
    }

    fn resolution(&self, field: &Field) -> Option<f64> {
        self.0.resolution(field)
    }
}

fn entry(label: Label, scheme: Scheme, unit: Unit, name: &'static str) -> Entry {
    Entry {
        label,
        quantity: Quantity::Unknown,
        scheme,
        unit,
        name,
    }
}

/// The inferred rule, and tables that take the other ways through the check
/// and the writer: other schemes and units for the checked labels, a unit the
/// check cannot use, a checked label without an entry, a label of no known
/// name.
fn rules() -> Vec<TableRule> {
    let other = Label::from_bytes(*b"Xy").unwrap();
    vec![
        TableRule::inferred(),
        TableRule::new(vec![
            entry(Label::Vo, Scheme::PointDigit, Unit::Volt, "v"),
            entry(
                Label::Am,
                Scheme::Fixed { decimals: 0 },
                Unit::Milliampere,
                "a",
            ),
            entry(Label::Pf, Scheme::Fixed { decimals: 3 }, Unit::None, "pf"),
            entry(
                Label::Wa,
                Scheme::DropLastDigit { decimals: 1 },
                Unit::Watt,
                "w",
            ),
            entry(other, Scheme::Fixed { decimals: 2 }, Unit::None, "xy"),
            entry(Label::Hz, Scheme::Fixed { decimals: 25 }, Unit::Hertz, "hz"),
        ]),
        TableRule::new(vec![
            entry(Label::Vo, Scheme::PointDigit, Unit::Hertz, "v"),
            entry(Label::Am, Scheme::PointDigit, Unit::Ampere, "a"),
            entry(Label::Wa, Scheme::PointDigit, Unit::Kilowatt, "w"),
        ]),
        TableRule::new(vec![
            entry(Label::Wa, Scheme::PointDigit, Unit::Watt, "w"),
            entry(Label::Vo, Scheme::PointDigit, Unit::Volt, "v"),
            entry(Label::Pf, Scheme::PointDigit, Unit::None, "pf"),
            entry(Label::Am, Scheme::PointDigit, Unit::Ampere, "a"),
        ]),
    ]
}

/// Frames like the meter's: the eight labels, power that agrees with
/// V × A × PF (so most pass the check), then perhaps one digit changed;
/// or any frame at all.
fn arb_meter_frame() -> impl Strategy<Value = Frame> {
    let consistent = (
        2000u32..2500,
        0u32..10_000,
        0u32..=1000,
        0u32..100_000,
        // A digit of V, A, W or PF changed, mostly near the end of the
        // mantissa, where the verdict is closest to the tolerance.
        proptest::option::of((
            proptest::sample::select(vec![0usize, 1, 2, 4]),
            prop_oneof![1 => 0usize..7, 3 => 4usize..6],
            0u8..10,
        )),
    )
        .prop_map(|(v, a, pf, wh, change)| {
            let rule = TableRule::inferred();
            let (v, a, pf) = (
                f64::from(v) / 10.0,
                f64::from(a) / 100.0,
                f64::from(pf) / 1000.0,
            );
            let kw = v * a * pf / 1000.0;
            let fields: Vec<Field> = [
                (Label::Vo, v),
                (Label::Am, a),
                (Label::Wa, kw),
                (Label::Wh, f64::from(wh) / 100.0),
                (Label::Pf, pf),
                (Label::Hz, 59.98),
                (Label::Kg, 0.0),
                (Label::Eu, 0.0),
            ]
            .into_iter()
            .map(|(label, x)| rule.encode(label, x).unwrap())
            .collect();
            let mut frame = Frame::new(fields).unwrap();
            if let Some((field, at, digit)) = change {
                let mut text = frame.to_string().into_bytes();
                // Field `field` starts at 1 + 10 × field with `:`; its seven
                // characters follow.
                let k = 2 + 10 * field + at;
                if text[k].is_ascii_digit() {
                    text[k] = b'0' + digit;
                    frame = Frame::parse(&text).unwrap();
                }
            }
            frame
        });
    prop_oneof![3 => consistent, 1 => arb_frame()]
}

/// Column names of a rule's writer, chosen and ordered at random.
fn arb_columns() -> impl Strategy<Value = (Vec<usize>, bool)> {
    (proptest::collection::vec(0usize..16, 0..12), any::<bool>())
}

fn csv<R: DecodeRule>(
    rule: R,
    pick: &(Vec<usize>, bool),
    records: &[(Option<OffsetDateTime>, Frame, bool)],
) -> Vec<u8> {
    let mut w = RecordWriter::with_rule(Vec::new(), Format::Csv, rule);
    let names = w.column_names();
    let (picks, all) = pick;
    if !all {
        let chosen: Vec<&String> = picks.iter().map(|&k| &names[k % names.len()]).collect();
        w = w.select(&chosen).unwrap();
    }
    for (time, frame, suspect) in records {
        w.write_flagged(*time, frame, *suspect).unwrap();
    }
    w.finish().unwrap()
}

fn arb_time() -> impl Strategy<Value = Option<OffsetDateTime>> {
    proptest::option::of((0i64..4_000_000_000, -12i8..=14).prop_map(|(t, h)| {
        OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .to_offset(UtcOffset::from_hms(h, 0, 0).unwrap())
    }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The check reading fields by its plan gives the verdict of the check
    /// reading them through the rule, for every rule and margin.
    #[test]
    fn the_check_by_scheme_is_the_check_by_rule(
        frame in arb_meter_frame(),
        rule in proptest::sample::select(rules()),
        margin in prop_oneof![Just(Check::<TableRule>::DEFAULT_MARGIN), 0.0f64..0.02],
    ) {
        let fast = Check::with_rule(rule.clone()).margin(margin);
        let plain = Check::with_rule(Plain(rule)).margin(margin);
        prop_assert_eq!(fast.verdict(&frame), plain.verdict(&frame));
    }

    /// CSV written from the digits is CSV written through the rule, for any
    /// columns in any order.
    #[test]
    fn csv_from_the_digits_is_csv_through_the_rule(
        records in proptest::collection::vec((arb_time(), arb_meter_frame(), any::<bool>()), 1..8),
        rule in proptest::sample::select(rules()),
        pick in arb_columns(),
    ) {
        let fast = csv(rule.clone(), &pick, &records);
        let plain = csv(Plain(rule), &pick, &records);
        prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(plain).unwrap());
    }

    /// The bytes a log reader gives for each record are its frame's raw
    /// bytes, and a writer given them writes what it writes without them, in
    /// every format.
    #[test]
    fn raw_bytes_from_the_log_are_the_frames(
        frames in arb_timed_frames(),
        cuts in proptest::collection::vec(0usize..200, 0..6),
        junk in proptest::collection::vec(any::<u8>(), 0..40),
        rfc3339 in any::<bool>(),
    ) {
        let kind = if rfc3339 { LogKind::Rfc3339 } else { LogKind::Watt };
        let mut log = log_of(kind, &frames, &cuts);
        // Junk in the middle: the record after it is still read.
        let middle = log.len() / 2;
        log.splice(middle..middle, junk);
        for format in [Format::Csv, Format::JsonLines, Format::Influx] {
            let mut reader = LogReader::with_kind(log.as_slice(), kind);
            let mut rec = LogRecord::empty();
            let mut given = RecordWriter::new(Vec::new(), format).with_suspect_column();
            let mut made = RecordWriter::new(Vec::new(), format).with_suspect_column();
            while let Some(item) = reader.read_into(&mut rec) {
                if item.is_err() {
                    prop_assert!(reader.raw().is_empty());
                    continue;
                }
                let raw = rec.frame.raw();
                prop_assert_eq!(reader.raw(), raw.as_bytes());
                let time = Some(rec.time_at(UtcOffset::UTC));
                given.write_received(time, &rec.frame, reader.raw(), false).unwrap();
                made.write_flagged(time, &rec.frame, false).unwrap();
            }
            prop_assert_eq!(given.finish().unwrap(), made.finish().unwrap());
        }
    }
}

/// A CSV file's rows and fields (quoted fields with `""` for `"`).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

fn arb_form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Live),
        proptest::sample::select(vec![
            Separator::Space,
            Separator::Cr,
            Separator::Lf,
            Separator::CrLf
        ])
        .prop_map(Form::Annotated),
    ]
}

proptest! {
    /// Rows put together in the writer's buffer: buffered or not, with the
    /// raw column anywhere (quoted for the annotated forms), every row reads
    /// back as the header's columns with the frame's raw bytes.
    #[test]
    fn csv_rows_read_back_buffered_or_not(
        frames in proptest::collection::vec((arb_meter_frame(), arb_form(), any::<bool>()), 1..12),
        pick in arb_columns(),
        buffer in 0usize..600,
    ) {
        let make = || {
            let mut w = RecordWriter::new(Vec::new(), Format::Csv);
            let names = w.column_names();
            let mut chosen: Vec<String> = pick.0.iter().map(|&k| names[k % names.len()].clone()).collect();
            chosen.push("raw".into());
            chosen.rotate_right(pick.0.len() / 2);
            w = w.select(&chosen).unwrap();
            (w, chosen)
        };
        let (mut plain, chosen) = make();
        let (w, _) = make();
        let mut buffered = w.buffered(buffer);
        for (frame, form, suspect) in &frames {
            let frame = frame.clone().with_form(*form);
            plain.write_flagged(None, &frame, *suspect).unwrap();
            buffered.write_flagged(None, &frame, *suspect).unwrap();
        }
        let plain = plain.finish().unwrap();
        prop_assert_eq!(&plain, &buffered.finish().unwrap());
        let rows = parse_csv(std::str::from_utf8(&plain).unwrap());
        prop_assert_eq!(rows.len(), frames.len() + 1);
        prop_assert_eq!(&rows[0], &chosen);
        let at = chosen.iter().position(|c| c == "raw").unwrap();
        for (row, (frame, form, _)) in rows[1..].iter().zip(&frames) {
            prop_assert_eq!(row.len(), chosen.len());
            prop_assert_eq!(&row[at], &frame.clone().with_form(*form).raw());
        }
    }
}

/// Annotated frames in a watt log: their raw bytes are given as read too
/// (and CSV quotes them as it quotes them when made).
#[test]
fn annotated_frames_give_their_bytes_as_read() {
    let log = b"S 21693Vo 42412Am E[2011-01-05 07:57:32] \n\
                S:  21693Vo:  42412Am  E[2011-01-05 07:57:33] \n";
    let mut reader = LogReader::new(&log[..]);
    let mut rec = LogRecord::empty();
    let mut raws = Vec::new();
    let mut given = RecordWriter::new(Vec::new(), Format::Csv);
    let mut made = RecordWriter::new(Vec::new(), Format::Csv);
    while let Some(item) = reader.read_into(&mut rec) {
        item.unwrap();
        raws.push(String::from_utf8(reader.raw().to_vec()).unwrap());
        given
            .write_received(None, &rec.frame, reader.raw(), false)
            .unwrap();
        made.write(None, &rec.frame).unwrap();
    }
    assert_eq!(raws, ["S 21693Vo 42412Am E", "S:  21693Vo:  42412Am  E"]);
    assert_eq!(given.finish().unwrap(), made.finish().unwrap());
}

/// An output that keeps the size of each write.
#[derive(Default)]
struct Writes {
    bytes: Vec<u8>,
    sizes: Vec<usize>,
}

impl std::io::Write for Writes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        self.sizes.push(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

proptest! {
    /// A buffered CSV writer hands the header to the output at once, then its
    /// rows in writes that each end at a whole multiple of the buffer's size
    /// in all written, but the last: the same bytes as an unbuffered one.
    #[test]
    fn buffered_csv_goes_out_in_writes_of_the_buffers_size(
        frames in proptest::collection::vec(arb_meter_frame(), 0..40),
        buffer in 1usize..3000,
    ) {
        let mut plain = RecordWriter::new(Vec::new(), Format::Csv);
        let mut buffered = RecordWriter::new(Writes::default(), Format::Csv).buffered(buffer);
        for frame in &frames {
            plain.write(None, frame).unwrap();
            buffered.write(None, frame).unwrap();
        }
        let out = buffered.finish().unwrap();
        prop_assert_eq!(&out.bytes, &plain.finish().unwrap());
        let header = out.bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        prop_assert_eq!(out.sizes[0], header);
        let mut end = 0;
        for (k, &n) in out.sizes.iter().enumerate() {
            prop_assert!(n > 0);
            end += n;
            if k > 0 && k + 1 < out.sizes.len() {
                prop_assert!(end % buffer == 0, "{:?}", out.sizes);
            }
        }
    }
}
