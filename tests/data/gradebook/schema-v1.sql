-- A gradebook as grader wrote it at schema version 1 (before overrides), for the migration
-- tests. Frozen: do not regenerate it from the current code.
PRAGMA application_id = 1196573762;
PRAGMA user_version = 1;
BEGIN TRANSACTION;
CREATE TABLE answers (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            submission TEXT NOT NULL,
            question TEXT NOT NULL,
            text_hash TEXT NOT NULL REFERENCES texts(hash),
            score REAL NOT NULL,
            confidence REAL NOT NULL,
            needs_review INTEGER NOT NULL,
            misconceptions TEXT NOT NULL,
            PRIMARY KEY (run_id, submission, question)
        );
INSERT INTO "answers" VALUES(1,'ana','q1','7f62e4c4e5416e1e7aa2e5befddc02d211214616fafd7356fdefd868343c84ea',3.0,1.0,0,'');
INSERT INTO "answers" VALUES(1,'ana','q2','3fd926ec958cfbc83f5d9e2a45367e0d8b077993b4972c16ea1230e0a6a4e16e',2.569632,0.102127,1,'');
INSERT INTO "answers" VALUES(1,'cai','q1','cb25e914c99b064cd94e5f78f843435c90b8ccd5d800eae5002d0f35fa0a616e',0.0,1.0,0,'q1.m.slows_inference');
INSERT INTO "answers" VALUES(1,'cai','q2','2082a37209ba7834d3804bb6ca9e1763d7f4cdbad3cc20aceb3a423027b0db42',1.0,1.0,0,'');
CREATE TABLE results (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            submission TEXT NOT NULL,
            status TEXT NOT NULL,
            score REAL,
            auto_json TEXT NOT NULL,
            PRIMARY KEY (run_id, submission)
        );
INSERT INTO "results" VALUES(1,'ana','graded',5.569632,'{"id": "ana", "source": "tests/data/gradebook/submissions/ana.md", "status": "graded", "error": null, "score": 5.569632, "max_score": 6.0, "needs_review": true, "notes": [], "questions": [{"id": "q1", "score": 3.0, "max_score": 3.0, "answered": true, "key_points": [{"id": "q1.training", "credit": 1.0, "points": 1.0, "bonus": false, "evidence": {"text": "Yes, dropout slows down training because the network converges more slowly.", "similarity": 0.89422, "phrasing": "the network converges more slowly"}}, {"id": "q1.inference", "credit": 1.0, "points": 2.0, "bonus": false, "evidence": {"text": "Dropout does not slow down inference: it is turned off when we make predictions.", "similarity": 0.871804, "phrasing": "dropout does not slow down inference"}}], "misconceptions": [], "confidence": 1.0, "needs_review": false, "review_reasons": []}, {"id": "q2", "score": 2.569632, "max_score": 3.0, "answered": true, "key_points": [{"id": "q2.standardize", "credit": 1.0, "points": 1.0, "bonus": false, "evidence": {"text": "Batch normalization standardizes the inputs of each layer.", "similarity": 0.994924, "phrasing": "batch normalization standardizes the inputs of each layer"}}, {"id": "q2.learning_rate", "credit": 1.0, "points": 1.0, "bonus": false, "evidence": {"text": "Because of that we can use a much larger learning rate, and it also acts as a regularizer.", "similarity": 0.913227, "phrasing": "we can use a much larger learning rate"}}, {"id": "q2.regularizer", "credit": 0.569632, "points": 0.569632, "bonus": false, "evidence": {"text": "Because of that we can use a much larger learning rate, and it also acts as a regularizer.", "similarity": 0.525319, "phrasing": "batch normalization acts as a regularizer"}}], "misconceptions": [], "confidence": 0.102127, "needs_review": true, "review_reasons": ["evidence close to a decision threshold"]}]}');
INSERT INTO "results" VALUES(1,'cai','graded',1.0,'{"id": "cai", "source": "tests/data/gradebook/submissions/cai.md", "status": "graded", "error": null, "score": 1.0, "max_score": 6.0, "needs_review": false, "notes": [], "questions": [{"id": "q1", "score": 0.0, "max_score": 3.0, "answered": true, "key_points": [{"id": "q1.training", "credit": 1.0, "points": 1.0, "bonus": false, "evidence": {"text": "Dropout slows down training and predictions are slower with dropout too, because neurons are dropped.", "similarity": 0.827681, "phrasing": "dropout slows down training"}}, {"id": "q1.inference", "credit": 0.0, "points": 0.0, "bonus": false, "evidence": null}], "misconceptions": [{"id": "q1.m.slows_inference", "penalty": 1.0, "evidence": {"text": "Dropout slows down training and predictions are slower with dropout too, because neurons are dropped.", "similarity": 0.922576, "phrasing": "predictions are slower with dropout"}, "feedback": "Dropout is switched off at inference, so predictions cost the same."}], "confidence": 1.0, "needs_review": false, "review_reasons": []}, {"id": "q2", "score": 1.0, "max_score": 3.0, "answered": true, "key_points": [{"id": "q2.standardize", "credit": 0.0, "points": 0.0, "bonus": false, "evidence": null}, {"id": "q2.learning_rate", "credit": 1.0, "points": 1.0, "bonus": false, "evidence": {"text": "It allows higher learning rates.", "similarity": 0.982465, "phrasing": "it allows higher learning rates"}}, {"id": "q2.regularizer", "credit": 0.0, "points": 0.0, "bonus": false, "evidence": null}], "misconceptions": [], "confidence": 1.0, "needs_review": false, "review_reasons": []}]}');
CREATE TABLE rubrics (
            hash TEXT PRIMARY KEY,
            rubric_id TEXT NOT NULL,
            content TEXT NOT NULL
        );
INSERT INTO "rubrics" VALUES('a97c545b2260796843158c40db087358d42d48b51ac2fa2f3dc4e65b155f1640','nets','{"id": "nets", "questions": [{"id": "q1", "key_points": [{"bonus": false, "description": "Yes, training converges more slowly with dropout.", "id": "q1.training", "phrasings": ["dropout slows down training", "training takes longer with dropout", "the network converges more slowly"], "weight": 1.0}, {"bonus": false, "description": "No, dropout is only active during training.", "id": "q1.inference", "phrasings": ["dropout does not slow down inference", "dropout is turned off when making predictions", "inference is not affected by dropout"], "weight": 2.0}], "misconceptions": [{"contradicts": ["q1.inference"], "description": "Says dropout slows down inference.", "feedback": "Dropout is switched off at inference, so predictions cost the same.", "id": "q1.m.slows_inference", "penalty": 1.0, "phrasings": ["dropout slows down inference", "predictions are slower with dropout"]}], "reference_answer": "Dropout slows down training, since the network converges more slowly, but it does not slow down inference because dropout is turned off when making predictions.", "text": "Does dropout slow down training? Does it slow down inference?"}, {"id": "q2", "key_points": [{"bonus": false, "description": "It standardizes each layer''s inputs.", "id": "q2.standardize", "phrasings": ["batch normalization standardizes the inputs of each layer", "it normalizes the activations of every layer"], "weight": 1.0}, {"bonus": false, "description": "It allows higher learning rates.", "id": "q2.learning_rate", "phrasings": ["it allows higher learning rates", "we can use a much larger learning rate"], "weight": 1.0}, {"bonus": false, "description": "It acts as a regularizer.", "id": "q2.regularizer", "phrasings": ["batch normalization acts as a regularizer", "it reduces the need for other regularization"], "weight": 1.0}], "misconceptions": [], "reference_answer": "It standardizes the inputs of each layer, which makes the network less sensitive to the weight initialization, allows much higher learning rates and acts as a regularizer.", "text": "Why does batch normalization help when training deep networks?"}], "title": "Training neural networks (gradebook fixture)"}');
CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rubric_id TEXT NOT NULL,
            rubric_hash TEXT NOT NULL REFERENCES rubrics(hash),
            started_at TEXT NOT NULL,
            source TEXT NOT NULL,
            grader_version TEXT NOT NULL
        );
INSERT INTO "runs" VALUES(1,'nets','a97c545b2260796843158c40db087358d42d48b51ac2fa2f3dc4e65b155f1640','2025-01-10T09:00:00+00:00','tests/data/gradebook/submissions','0.1.0');
CREATE TABLE texts (hash TEXT PRIMARY KEY, text TEXT NOT NULL);
INSERT INTO "texts" VALUES('7f62e4c4e5416e1e7aa2e5befddc02d211214616fafd7356fdefd868343c84ea','Yes, dropout slows down training because the network converges more slowly. Dropout does not slow down inference: it is turned off when we make predictions.');
INSERT INTO "texts" VALUES('3fd926ec958cfbc83f5d9e2a45367e0d8b077993b4972c16ea1230e0a6a4e16e','Batch normalization standardizes the inputs of each layer. Because of that we can use a much larger learning rate, and it also acts as a regularizer.');
INSERT INTO "texts" VALUES('cb25e914c99b064cd94e5f78f843435c90b8ccd5d800eae5002d0f35fa0a616e','Dropout slows down training and predictions are slower with dropout too, because neurons are dropped.');
INSERT INTO "texts" VALUES('2082a37209ba7834d3804bb6ca9e1763d7f4cdbad3cc20aceb3a423027b0db42','It allows higher learning rates.');
CREATE INDEX runs_by_rubric ON runs(rubric_id, id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('runs',1);
COMMIT;
