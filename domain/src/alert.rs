//! Alerts: which endings of a pipeline run are announced to webhooks, what the announcement says
//! (the run, the stage that decided, the reason), and the shapes of the two webhook kinds.

use crate::{named_enum, JobRunState, PipelineStatus, Stage, StageOutcome};

/// An ending of a pipeline run that webhooks may ask to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertEvent {
    Failed,
    Stopped,
    TimedOut,
    Succeeded,
}

named_enum!(AlertEvent, "alert event", {
    Failed => "failed",
    Stopped => "stopped",
    TimedOut => "timedout",
    Succeeded => "succeeded",
});

impl AlertEvent {
    /// The event a run's final status is; `None` while it runs. An incomplete chain is a failure.
    pub fn of(status: PipelineStatus) -> Option<AlertEvent> {
        match status {
            PipelineStatus::Running => None,
            PipelineStatus::Succeeded => Some(AlertEvent::Succeeded),
            PipelineStatus::Failed | PipelineStatus::Incomplete => Some(AlertEvent::Failed),
            PipelineStatus::Stopped => Some(AlertEvent::Stopped),
            PipelineStatus::TimedOut => Some(AlertEvent::TimedOut),
        }
    }

    /// Events the in-app banner shows.
    pub fn is_failure(self) -> bool {
        self != AlertEvent::Succeeded
    }
}

/// How a webhook wants its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    /// A JSON object with every field (see [`Alert`]).
    Generic,
    /// `{"text": …}`, as Slack's (and Mattermost's, Teams' workflow) incoming webhooks take it.
    Slack,
}

named_enum!(WebhookKind, "webhook kind", {
    Generic => "generic",
    Slack => "slack",
});

/// What an alert says about a pipeline run that ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub event: AlertEvent,
    pub pipeline_run_id: i64,
    pub status: PipelineStatus,
    /// The stage that decided the ending (the last one for a success).
    pub stage: Option<Stage>,
    pub reason: String,
    /// The run's page.
    pub link: String,
    pub triggered_by: String,
}

impl Alert {
    /// The alert for a run that ended with `status` after these stages (chain order), or `None`
    /// while it runs. `stopped_by` names who asked to stop it, if anyone did.
    pub fn for_run(id: i64, status: PipelineStatus, stages: &[StageOutcome], stopped_by: Option<&str>, triggered_by: &str, base_url: &str) -> Option<Alert> {
        let event = AlertEvent::of(status)?;
        let deciding = stages.iter().find(|s| s.state != JobRunState::Succeeded);
        let stage = deciding.or(stages.last()).map(|s| s.stage);
        let reason = match (status, deciding) {
            (PipelineStatus::Succeeded, _) => "all three stages succeeded".to_string(),
            (PipelineStatus::Stopped, _) if stopped_by.is_some() => format!("stopped by {}", stopped_by.unwrap_or_default()),
            (PipelineStatus::Incomplete, None) => match stages.last().and_then(|s| s.stage.next()) {
                Some(next) => format!("{} never started after {} succeeded", next.title(), stages.last().map_or("", |s| s.stage.title())),
                None => "the chain did not complete".to_string(),
            },
            (_, Some(s)) => format!("{} ended {}", s.stage.title(), s.state.word()),
            (_, None) => format!("the pipeline run ended {status}"),
        };
        let link = format!("{}/runs/{id}", base_url.trim_end_matches('/'));
        Some(Alert { event, pipeline_run_id: id, status, stage, reason, link, triggered_by: triggered_by.to_string() })
    }

    /// The message in the webhook's shape.
    pub fn body(&self, kind: WebhookKind) -> serde_json::Value {
        let stage = self.stage.map(|s| s.title()).unwrap_or("—");
        match kind {
            WebhookKind::Generic => serde_json::json!({
                "event": self.event.as_str(),
                "pipeline_run_id": self.pipeline_run_id,
                "status": self.status.as_str(),
                "stage": self.stage.map(|s| s.as_str()),
                "stage_title": self.stage.map(|s| s.title()),
                "reason": self.reason,
                "url": self.link,
                "triggered_by": self.triggered_by,
            }),
            WebhookKind::Slack => {
                let mark = if self.event.is_failure() { ":red_circle:" } else { ":large_green_circle:" };
                serde_json::json!({
                    "text": format!("{mark} Pipeline run #{} {} at {stage}: {}. <{}|Open the run>", self.pipeline_run_id, self.status, self.reason, self.link),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(stage: Stage, state: JobRunState) -> StageOutcome {
        StageOutcome { stage, state, finished_at: None }
    }

    #[test]
    fn an_alert_names_the_run_the_deciding_stage_the_reason_and_links_to_the_run() {
        let stages = [outcome(Stage::NewBatch, JobRunState::Succeeded), outcome(Stage::RetrainXgboost, JobRunState::Failed)];
        let alert = Alert::for_run(7, PipelineStatus::Failed, &stages, None, "ada", "http://lakeline:3000/").unwrap();
        assert_eq!((alert.event, alert.stage), (AlertEvent::Failed, Some(Stage::RetrainXgboost)));
        assert_eq!(alert.reason, "Retrain XGBoost ended failed");
        assert_eq!(alert.link, "http://lakeline:3000/runs/7");
        let body = alert.body(WebhookKind::Generic);
        assert_eq!((body["event"].as_str(), body["stage"].as_str(), body["url"].as_str()), (Some("failed"), Some("train_xgboost"), Some("http://lakeline:3000/runs/7")));
        let slack = alert.body(WebhookKind::Slack)["text"].as_str().unwrap().to_string();
        assert!(slack.contains("#7") && slack.contains("Retrain XGBoost") && slack.contains("<http://lakeline:3000/runs/7|"), "{slack}");

        assert!(Alert::for_run(7, PipelineStatus::Running, &stages, None, "ada", "").is_none());
        let stopped = Alert::for_run(8, PipelineStatus::Stopped, &stages, Some("otto"), "ada", "").unwrap();
        assert_eq!((stopped.event, stopped.reason.as_str()), (AlertEvent::Stopped, "stopped by otto"));
        let all = [outcome(Stage::NewBatch, JobRunState::Succeeded), outcome(Stage::RetrainXgboost, JobRunState::Succeeded)];
        let incomplete = Alert::for_run(9, PipelineStatus::Incomplete, &all, None, "ada", "").unwrap();
        assert_eq!((incomplete.event, incomplete.reason.as_str()), (AlertEvent::Failed, "API Redeployment never started after Retrain XGBoost succeeded"));
    }
}
