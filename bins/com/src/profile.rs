//! Named profiles (`com meter`): sections of `$XDG_CONFIG_HOME/com/config.toml`
//! (else `~/.config/com/config.toml`) whose keys are `com`'s long options.
//!
//! ```toml
//! [meter]
//! device = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"
//! speed = 9600
//! log = "/home/me/watt.txt"
//! decode = "csv"
//! out = "/home/me/meter.csv"
//! timestamp = "24hour"
//! map = ["ICRNL"]
//! reconnect = true
//! ```
//!
//! A profile becomes arguments placed before the ones given (`device` and
//! `speed` as the positional ones, `key = true` as `--key`, other values as
//! `--key=value`, a list as `--key=a,b`), so options given on the
//! command line win.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The configuration file: `$XDG_CONFIG_HOME/com/config.toml`, else
/// `$HOME/.config/com/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("com").join("config.toml"))
}

/// The arguments with a profile's in place of its name, when the first
/// argument names no file and is a profile of the configuration file.
pub fn expand(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return Ok(args);
    };
    if first.starts_with('-') || first.contains('/') || Path::new(first).exists() {
        return Ok(args);
    }
    let Some(path) = config_path() else {
        return Ok(args);
    };
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(args);
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(profile) = table.get(first) else {
        return Ok(args);
    };
    let profile = profile
        .as_table()
        .ok_or_else(|| format!("{}: `{first}` is not a [section]", path.display()))?;
    let mut out = vec![args[0].clone()];
    out.extend(
        profile_args(profile).map_err(|e| format!("{}: profile `{first}`: {e}", path.display()))?,
    );
    out.extend(args.into_iter().skip(2));
    Ok(out)
}

fn scalar(key: &str, v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        _ => Err(format!(
            "`{key}`: expected a string, a number, true or a list"
        )),
    }
}

fn profile_args(profile: &toml::Table) -> Result<Vec<OsString>, String> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    if let Some(device) = profile.get("device") {
        positional.push(scalar("device", device)?);
    }
    if let Some(speed) = profile.get("speed") {
        if positional.is_empty() {
            return Err("`speed` needs a `device`".to_string());
        }
        positional.push(scalar("speed", speed)?);
    }
    for (key, value) in profile {
        if key == "device" || key == "speed" {
            continue;
        }
        let flag = format!("--{}", key.replace('_', "-"));
        match value {
            toml::Value::Boolean(true) => options.push(flag),
            toml::Value::Boolean(false) => {}
            toml::Value::Array(items) => {
                let items: Result<Vec<String>, String> =
                    items.iter().map(|item| scalar(key, item)).collect();
                options.push(format!("{flag}={}", items?.join(",")));
            }
            other => options.push(format!("{flag}={}", scalar(key, other)?)),
        }
    }
    Ok(positional
        .into_iter()
        .chain(options)
        .map(OsString::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_becomes_arguments() {
        let table: toml::Table = r#"
            device = "/dev/ttyUSB0"
            speed = 9600
            log = "watt.txt"
            reconnect = true
            shared = false
            map = ["ICRNL", "OLTU"]
            log_format = "rfc3339"
        "#
        .parse()
        .unwrap();
        let args: Vec<String> = profile_args(&table)
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "/dev/ttyUSB0",
                "9600",
                "--log=watt.txt",
                "--log-format=rfc3339",
                "--map=ICRNL,OLTU",
                "--reconnect"
            ]
        );
        let bad: toml::Table = "speed = 9600".parse().unwrap();
        assert!(profile_args(&bad).is_err());
    }
}
