//! `-h` and `-v`.

/// IPVS protocol version ipvsctl speaks (as ipvsadm 1.31 reports it).
pub const IPVS_VERSION: &str = "1.2.1";

/// `-v`: one line, naming the ipvsadm release whose behaviour ipvsctl keeps.
pub fn version() -> String {
    format!(
        "ipvsctl v{} (ipvsadm v1.31 compatible, IPVS v{IPVS_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
}

/// `-h`: the commands and options, with `program` as invoked.
pub fn text(program: &str) -> String {
    format!(
        "{version}
Usage:
  {p} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe engine] [-b sched-flags]
  {p} -D virtual-service
  {p} -C
  {p} -R [--dry-run]
  {p} -S [-n]
  {p} -a|e virtual-service -r server-address [options]
  {p} -d virtual-service -r server-address
  {p} -L|l [virtual-service] [options] [--json] [--watch [seconds]]
  {p} -Z [virtual-service]
  {p} --set tcp tcpfin udp
  {p} --start-daemon {{master|backup}} [daemon-options]
  {p} --stop-daemon {{master|backup}}
  {p} -h
  {p} apply [--prune] [--dry-run] FILE    make the table equal to FILE (-S format)
  {p} diff [--prune] FILE                 print what apply would do (exit 1 if anything)
  {p} set-weight virtual-service -r server-address WEIGHT
  {p} drain virtual-service -r server-address [--timeout DURATION] [--then delete|keep]
  {p} service start|save|stop [--config-style redhat|debian] [--root DIR]

Every command also takes --netns NAME (a namespace under /run/netns).

Commands:
  -A --add-service      add a virtual service        -E --edit-service   replace one
  -D --delete-service   delete a virtual service     -C --clear          delete them all
  -a --add-server       add a real server            -e --edit-server    replace one
  -d --delete-server    delete a real server         -Z --zero           zero counters
  -L -l --list          list the table               -S --save           print as rules
  -R --restore          apply rules read from stdin: every line is checked first, also
                        against the live table (--dry-run: only that), then all are
                        sent as one batch; a refused batch is rolled back
  --set tcp tcpfin udp  set connection timeouts (seconds, 0 keeps a value)
  --start-daemon / --stop-daemon   connection synchronisation daemon

Virtual service:
  -t --tcp-service ADDR[:PORT]   -u --udp-service ADDR[:PORT]   --sctp-service ADDR[:PORT]
  -f --fwmark-service MARK [-6 --ipv6]

Service options:
  -s --scheduler NAME   rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh (default wlc)
  -p --persistent [SECONDS]  (default 360)    -M --netmask MASK|PREFIX
  --pe ENGINE           persistence engine (sip)
  -o --ops              one-packet scheduling (UDP)
  -b --sched-flags LIST sh-fallback,sh-port | mh-fallback,mh-port | flag-1,flag-2,flag-3

Real server options:
  -r --real-server ADDR[:PORT]
  -g --gatewaying (default)   -i --ipip   -m --masquerading
  --tun-type ipip|gue|gre  --tun-port PORT  --tun-nocsum  --tun-csum  --tun-remcsum
  -w --weight N (default 1)   -x --u-threshold N   -y --l-threshold N

Listing options:
  -n --numeric  -c --connection  --timeout  --daemon  --stats  --rate  --exact
  --thresholds  --persistent-conn  --tun-info  --nosort  --sort
  --json        machine-readable output (schema: docs/ipvsctl-json.md)
  --watch [S]   redraw every S seconds (default 1, at most 86400), rates from the
                counters' changes between the kernel's 2 s updates (with --rate:
                the kernel's estimates); with --json one document per line

Daemon options:
  --syncid ID  --sync-maxlen BYTES  --mcast-interface IF  --mcast-group ADDR
  --mcast-port PORT  --mcast-ttl TTL
",
        version = version(),
        p = program
    )
}
