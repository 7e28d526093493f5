//! `com plot`: the command around [`com::plot`].
use com::plot::{self, PlotArgs, TimeAxis};
use com::readings::Window;

use crate::stats::usage;
use crate::zone::Zone;

/// Reads the logs and draws the chart to the file or the terminal.
pub fn run(args: &PlotArgs, zone: &Zone) -> anyhow::Result<crate::exit::Exit> {
    let resolve = |local, after| zone.resolve(local, after).time();
    let window = Window::new(args.from, args.to, &resolve).map_err(usage)?;
    let mut quantities = Vec::new();
    for q in &args.quantity {
        if !quantities.contains(q) {
            quantities.push(*q);
        }
    }
    let data = plot::load(&args.files, window, &quantities, &resolve).map_err(usage)?;
    if data.is_empty() {
        return Err(usage(
            readings_usage("no frames to plot in the files and window given").into(),
        ));
    }
    let local = |t| zone.local(t);
    let name = zone.to_string();
    let axis = TimeAxis {
        local: &local,
        zone: &name,
    };
    if args.terminal {
        let (w, h) = match args.size {
            Some((w, h)) => (w as usize, h as usize),
            None => terminal_size::terminal_size()
                .map_or((80, 24), |(w, h)| (usize::from(w.0), usize::from(h.0))),
        };
        let text = plot::terminal(&data, w, h.saturating_sub(1), axis, args.gap);
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(crate::exit::Exit::Done),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::Exit::Done),
            Err(e) => Err(anyhow::anyhow!("writing to stdout: {e}")),
        };
    }
    let Some(out) = &args.output else {
        return Err(usage(
            readings_usage("give -o OUT.svg|OUT.png or --terminal").into(),
        ));
    };
    plot::use_font(&args.font).map_err(usage)?;
    let size = args.size.unwrap_or(plot::default_size(quantities.len()));
    let title = plot::title(&args.files, &data, axis);
    let drawn = plot::write_file(out, size, &data, &title, axis, args.gap).map_err(usage)?;
    let points: usize = drawn.traces.iter().map(|t| t.points()).sum();
    let how = if drawn.traces.iter().any(|t| t.downsampled) {
        "minimum and maximum per pixel column"
    } else {
        "one point per frame"
    };
    eprintln!(
        "com plot: {}: {} frames, {points} points ({how})",
        out.display(),
        data.len()
    );
    Ok(crate::exit::Exit::Done)
}

fn readings_usage(msg: &str) -> com::readings::Usage {
    com::readings::Usage(msg.to_string())
}
