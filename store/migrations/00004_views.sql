-- +goose Up
-- open_pull_requests: the pull requests open now, with what a triage
-- dashboard shows. labels comes from issue_labels, named as the labels are
-- named now (a renamed label shows its new name).
CREATE VIEW open_pull_requests AS
SELECT p.id,
       p.repository_id,
       r.full_name AS repository,
       p.number,
       p.title,
       p.user_login AS author,
       a.type AS author_type,
       p.author_association,
       p.draft,
       p.created_at,
       p.updated_at,
       now() - p.created_at AS age,
       coalesce((SELECT array_agg(coalesce(lb.name, l.label_name) ORDER BY coalesce(lb.name, l.label_name))
                 FROM issue_labels l LEFT JOIN labels lb ON lb.id = l.label_id
                 WHERE l.repository_id = p.repository_id AND l.issue_number = p.number), '{}') AS labels,
       p.data->>'html_url' AS html_url
FROM pull_requests p
LEFT JOIN repositories r ON r.id = p.repository_id
LEFT JOIN accounts a ON a.id = p.user_id
WHERE p.state = 'open' AND p.deleted_at IS NULL AND r.deleted_at IS NULL;

-- pull_request_first_response: for every pull request, the first
-- conversation comment, review or review comment by someone other than its
-- author and not by a bot, and how long after the opening it came. Pull
-- requests nobody answered yet have NULLs. Deleted comments count: they
-- were an answer when they were written.
CREATE VIEW pull_request_first_response AS
SELECT p.id,
       p.repository_id,
       r.full_name AS repository,
       p.number,
       p.user_login AS author,
       p.state,
       p.created_at,
       f.responded_at AS first_response_at,
       f.login AS first_responder,
       f.kind AS first_response_kind,
       f.responded_at - p.created_at AS time_to_first_response
FROM pull_requests p
LEFT JOIN repositories r ON r.id = p.repository_id
LEFT JOIN LATERAL (
    SELECT x.responded_at, x.login, x.kind
    FROM (
        SELECT c.created_at AS responded_at, c.user_id, c.user_login AS login, 'comment' AS kind
        FROM issue_comments c WHERE c.repository_id = p.repository_id AND c.issue_number = p.number
        UNION ALL
        SELECT v.submitted_at, v.user_id, v.user_login, 'review'
        FROM pull_request_reviews v
        WHERE v.pull_request_id = p.id
           OR (v.pull_request_id IS NULL AND v.repository_id = p.repository_id AND v.pull_request_number = p.number)
        UNION ALL
        -- A comment written in a pending review is seen when its review is
        -- submitted, not when it was drafted.
        SELECT greatest(rc.created_at, rv.submitted_at), rc.user_id, rc.user_login, 'review_comment'
        FROM pull_request_review_comments rc
        LEFT JOIN pull_request_reviews rv ON rv.id = rc.pull_request_review_id
        WHERE rc.pull_request_id = p.id
           OR (rc.pull_request_id IS NULL AND rc.repository_id = p.repository_id AND rc.pull_request_number = p.number)
    ) x
    LEFT JOIN accounts a ON a.id = x.user_id
    WHERE x.responded_at IS NOT NULL
      AND x.user_id IS DISTINCT FROM p.user_id
      AND x.login IS DISTINCT FROM p.user_login
      AND a.type IS DISTINCT FROM 'Bot'
      AND coalesce(x.login, '') NOT LIKE '%[bot]'
    ORDER BY x.responded_at, x.kind
    LIMIT 1
) f ON true
WHERE p.deleted_at IS NULL;

-- +goose Down
DROP VIEW pull_request_first_response;
DROP VIEW open_pull_requests;
