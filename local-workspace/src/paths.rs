//! Paths that come from requests, kept inside the directory they name a place in.

use std::path::{Component, Path, PathBuf};

/// `root/relative`, or `None` when `relative` would leave `root` (`..`, an absolute path).
/// Leading and trailing slashes are ignored; an empty path is `root` itself.
pub fn inside(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative.trim_matches('/'));
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        .then(|| root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_their_root() {
        let root = Path::new("/data/project");
        assert_eq!(inside(root, "logs/a.log"), Some(root.join("logs/a.log")));
        assert_eq!(inside(root, "/logs/"), Some(root.join("logs")));
        assert_eq!(inside(root, ""), Some(root.to_path_buf()));
        assert_eq!(inside(root, "../etc/passwd"), None);
        assert_eq!(inside(root, "logs/../../x"), None);
    }
}
