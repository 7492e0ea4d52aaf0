//! The alert rules dialog's own state: the selected row (rules first, then schema checks)
//! and the line being typed to add or edit a rule, in `--rule`'s form.

/// The dialog's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesDialog {
    /// Rows: every rule, then every schema check.
    pub selected: usize,
    /// The line being typed, and the rule it replaces (`None`: a new one).
    pub editing: Option<(Option<usize>, String)>,
    /// Why the typed line was refused, with the column when the expression is at fault.
    pub error: Option<String>,
}

/// What the selected row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Rule(usize),
    Schema(usize),
    Nothing,
}

impl RulesDialog {
    pub fn row(&self, rules: usize, schemas: usize) -> Row {
        if self.selected < rules {
            Row::Rule(self.selected)
        } else if self.selected < rules + schemas {
            Row::Schema(self.selected - rules)
        } else {
            Row::Nothing
        }
    }
}

/// A typed rule's error for the dialog: the part, and a caret under the column.
pub fn explain(line: &str, e: &crate::alert::SpecError) -> String {
    match e.column {
        Some(c) => format!(
            "{e}\n{}\n{}^",
            line,
            " ".repeat(crate::width::of(
                &line.chars().take(c - 1).collect::<String>()
            ))
        ),
        None => e.to_string(),
    }
}
