-- +goose Up
-- jira_issues: the Jira issue of each (pull request, Jira nickname), at most
-- one ever. A row is written as an intent (key NULL) before osprey asks Jira
-- to create the issue, and gets its key once Jira has answered. An intent
-- found without a key means an earlier attempt may have created the issue
-- without osprey hearing back: Jira is searched for it before another is
-- created (docs/jira.md).
CREATE TABLE jira_issues (
    repository      text        NOT NULL, -- lower(owner/name)
    number          integer     NOT NULL,
    nick            text        NOT NULL, -- lower-cased
    pull_request_id bigint      NOT NULL, -- GitHub's id, also in the issue's labels
    server          text        NOT NULL, -- the Jira's base URL when intended
    key             text,                 -- NULL while only intended
    intended_at     timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz,          -- when the key was recorded
    PRIMARY KEY (repository, number, nick)
);

-- +goose Down
DROP TABLE jira_issues;
