//! Reading configuration from the environment: trimmed, empty means unset.

pub fn env_text(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn env_u64(name: &str, default: u64) -> Result<u64, String> {
    match env_text(name) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("{name} is not a whole number: {text}")),
        None => Ok(default),
    }
}

pub fn env_bool(name: &str, default: bool) -> Result<bool, String> {
    match env_text(name).map(|t| t.to_ascii_lowercase()) {
        None => Ok(default),
        Some(t) if ["true", "1", "yes", "on"].contains(&t.as_str()) => Ok(true),
        Some(t) if ["false", "0", "no", "off"].contains(&t.as_str()) => Ok(false),
        Some(t) => Err(format!("{name} must be true or false, got {t}")),
    }
}
