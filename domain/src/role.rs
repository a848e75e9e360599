//! Who may do what. Every signed-in person has one role; each role may do what the one below it
//! may, and more:
//!
//! * viewer — read everything: the pipeline, history, run details, logs, lineage;
//! * operator — also trigger and stop pipeline runs and send test predictions;
//! * admin — also create and repair the jobs, change settings, manage users, read the audit log.

use crate::named_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

named_enum!(Role, "role", {
    Viewer => "viewer",
    Operator => "operator",
    Admin => "admin",
});

impl Role {
    /// Whether this role may do what `needed` may.
    pub fn may(self, needed: Role) -> bool {
        self >= needed
    }

    /// What the role may do, in words (for messages that say what to ask for).
    pub fn description(self) -> &'static str {
        match self {
            Role::Viewer => "read the pipeline, history, runs, logs and lineage",
            Role::Operator => "also run, stop and test the pipeline",
            Role::Admin => "also set up the jobs, change settings and manage users",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_what_the_ones_below_it_may() {
        assert!(Role::Admin.may(Role::Operator) && Role::Admin.may(Role::Viewer) && Role::Admin.may(Role::Admin));
        assert!(Role::Operator.may(Role::Viewer) && !Role::Operator.may(Role::Admin));
        assert!(!Role::Viewer.may(Role::Operator));
        assert_eq!("operator".parse::<Role>().unwrap(), Role::Operator);
        assert!("root".parse::<Role>().unwrap_err().to_string().contains("viewer, operator, admin"));
    }
}
