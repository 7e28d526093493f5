//! CSV, JSON Lines and InfluxDB line protocol output.

use hpm_frame::time::UtcOffset;
use hpm_frame::time::macros::{datetime, offset};
use hpm_frame::{
    Frame, FrameReader, LogReader, RecordWriter,
    output::{Format, UnknownFormat},
};

use crate::{data, golden, seed_frames};

/// The seed log converted with the caller's offset.
fn convert_log(format: Format, offset: UtcOffset) -> String {
    let input = data("watt-seed.txt");
    let mut w = RecordWriter::new(Vec::new(), format);
    for rec in LogReader::new(&input[..]) {
        let rec = rec.unwrap();
        w.write(Some(rec.time_at(offset)), &rec.frame).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

#[test]
fn seed_log_golden_csv() {
    golden("watt-seed.csv", &convert_log(Format::Csv, offset!(+9)));
}

#[test]
fn seed_log_golden_jsonl() {
    golden(
        "watt-seed.jsonl",
        &convert_log(Format::JsonLines, offset!(+9)),
    );
}

#[test]
fn seed_log_golden_influx() {
    golden(
        "watt-seed.influx",
        &convert_log(Format::Influx, offset!(+9)),
    );
}

#[test]
fn capture_without_times_golden_csv() {
    let input = data("stream-noisy.bin");
    let mut w = RecordWriter::new(Vec::new(), Format::Csv);
    for f in FrameReader::new(&input[..]) {
        w.write(None, &f.unwrap()).unwrap();
    }
    golden(
        "stream-noisy.csv",
        &String::from_utf8(w.finish().unwrap()).unwrap(),
    );
}

#[test]
fn csv_has_one_header_and_a_row_per_frame() {
    let text = convert_log(Format::Csv, offset!(UTC));
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5);
    assert!(rows[0].starts_with("time,"));
    assert!(rows[1].starts_with("2011-01-05T07:57:32Z,216.9,42.41,4.646,0.002,0.505,59.98,"));
    assert!(rows.iter().all(|r| r.split(',').count() == 10));
    // The raw frame, last, parses back to the frame.
    let raw = rows[4].rsplit(',').next().unwrap();
    assert_eq!(Frame::parse(raw.as_bytes()).unwrap(), seed_frames()[3]);
    // No record: just the header.
    let empty = RecordWriter::new(Vec::new(), Format::Csv).finish().unwrap();
    assert_eq!(
        String::from_utf8(empty).unwrap(),
        "time,voltage_V,current_A,power_kW,energy_kWh,power_factor,frequency_Hz,kg,eu,raw\n"
    );
}

#[test]
fn json_lines_are_json_with_exact_numbers() {
    let text = convert_log(Format::JsonLines, offset!(-5:30));
    let values: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values.len(), 4);
    let v = &values[3];
    assert_eq!(v["time"], "2011-01-05T07:57:34-05:30");
    assert_eq!(v["voltage_V"].to_string(), "216.9");
    assert_eq!(v["current_A"].to_string(), "42.43");
    assert_eq!(v["power_factor"].to_string(), "0.504");
    assert_eq!(v["frequency_Hz"].to_string(), "59.97");
    assert_eq!(v["raw"], crate::SEED[3]);
    // Missing fields and unknown times are null.
    let mut w = RecordWriter::new(Vec::new(), Format::JsonLines);
    w.write(None, &Frame::parse(b"S:  21693Vo  E").unwrap())
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&w.into_inner()).unwrap();
    assert!(line["time"].is_null());
    assert!(line["current_A"].is_null());
    assert_eq!(line["voltage_V"].to_string(), "216.9");
}

#[test]
fn influx_lines_escape_names_and_carry_nanoseconds() {
    let frame = Frame::parse(b"S:  21693Vo:     77Xy  E").unwrap();
    let mut w = RecordWriter::new(Vec::new(), Format::Influx)
        .measurement("power meter")
        .tag("site", "lab,2")
        .tag("port", "ttyUSB0");
    w.write(Some(datetime!(2011-01-05 07:57:32 +09:00)), &frame)
        .unwrap();
    w.write(None, &frame).unwrap();
    let text = String::from_utf8(w.into_inner()).unwrap();
    assert_eq!(
        text,
        "power\\ meter,site=lab\\,2,port=ttyUSB0 voltage_V=216.9,raw=\"S:  21693Vo:     77Xy  E\" 1294181852000000000\n\
         power\\ meter,site=lab\\,2,port=ttyUSB0 voltage_V=216.9,raw=\"S:  21693Vo:     77Xy  E\"\n"
    );
}

#[test]
fn format_names() {
    for (name, format) in [
        ("csv", Format::Csv),
        ("jsonl", Format::JsonLines),
        ("ndjson", Format::JsonLines),
        ("influx", Format::Influx),
        ("line-protocol", Format::Influx),
    ] {
        assert_eq!(name.parse::<Format>().unwrap(), format);
    }
    for name in Format::NAMES {
        assert!(name.parse::<Format>().is_ok());
    }
    assert_eq!(
        "xml".parse::<Format>().unwrap_err(),
        UnknownFormat("xml".into())
    );
    assert_eq!(
        "xml".parse::<Format>().unwrap_err().to_string(),
        "unknown output format \"xml\": expected csv, jsonl or influx"
    );
}

#[test]
fn columns_can_be_chosen_and_suspect_frames_flagged() {
    let frame = &seed_frames()[0];
    let t = Some(datetime!(2011-01-05 07:57:32 +09:00));
    let w = RecordWriter::new(Vec::new(), Format::Csv);
    let err = w.select(&["time", "volts"]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown column \"volts\": expected one of time, voltage_V,"),
        "{err}"
    );
    let mut w = RecordWriter::new(Vec::new(), Format::Csv)
        .select(&["voltage_V", "time"])
        .unwrap()
        .with_suspect_column();
    w.write_flagged(t, frame, true).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        "voltage_V,time,suspect\n216.9,2011-01-05T07:57:32+09:00,true\n"
    );
    let mut w = RecordWriter::new(Vec::new(), Format::JsonLines)
        .select(&["time", "power_kW", "raw"])
        .unwrap();
    w.write(t, frame).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        format!(
            "{{\"time\":\"2011-01-05T07:57:32+09:00\",\"power_kW\":4.646,\"raw\":\"{frame}\"}}\n"
        )
    );
    let mut w = RecordWriter::new(Vec::new(), Format::Influx)
        .select(&["power_kW"])
        .unwrap()
        .with_suspect_column();
    w.write_flagged(t, frame, false).unwrap();
    assert_eq!(
        String::from_utf8(w.finish().unwrap()).unwrap(),
        "hpm power_kW=4.646,suspect=false 1294181852000000000\n"
    );
}

#[test]
fn influx_points_of_one_second_get_distinct_times() {
    let frames = seed_frames();
    let mut w = RecordWriter::new(Vec::new(), Format::Influx)
        .select(&["voltage_V"])
        .unwrap();
    let t = datetime!(2011-01-05 07:57:33 UTC);
    for (f, t) in frames
        .iter()
        .zip([t, t, t, t + hpm_frame::time::Duration::seconds(1)])
    {
        w.write(Some(t), f).unwrap();
    }
    // A clock set back by an hour is not squeezed after the previous point.
    w.write(Some(t - hpm_frame::time::Duration::hours(1)), &frames[0])
        .unwrap();
    let text = String::from_utf8(w.finish().unwrap()).unwrap();
    let times: Vec<&str> = text
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "1294214253000000000",
            "1294214253000000001",
            "1294214253000000002",
            "1294214254000000000",
            "1294210653000000000"
        ]
    );
}
