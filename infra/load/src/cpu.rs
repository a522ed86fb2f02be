//! CPU time of a process from `/proc/<pid>/stat` (Linux): user + system time, in the clock
//! ticks of USER_HZ, which Linux fixes at 100 per second for /proc whatever the kernel's HZ.

const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of `pid` in seconds, or None when the process is gone (or not Linux).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// The fields after the command name (which is in parentheses and may hold spaces): utime and
/// stime are the 14th and 15th fields of the line, the 12th and 13th after `)`.
pub fn parse_stat(stat: &str) -> Option<f64> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_past_a_command_with_spaces() {
        let line =
            "4242 (game dev) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 1000 1 2 3";
        assert_eq!(parse_stat(line), Some(3.25));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
