//! Renders reports from the templates in `templates/` (minijinja).

use std::path::Path;

use serde::Serialize;

/// Renders `templates/<name>` with `context`.
pub(crate) fn render(root: &Path, name: &str, context: impl Serialize) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_loader(minijinja::path_loader(root.join("templates")));
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    let template = env
        .get_template(name)
        .map_err(|e| format!("template templates/{name}: {e}"))?;
    template
        .render(context)
        .map_err(|e| format!("rendering templates/{name}: {e:#}"))
}
