//! Case classifications: the catalogue's categories and the questions a case must answer.

use std::collections::BTreeMap;

use crate::DomainError;
use crate::values::Answer;

/// A question a case of some category must (or may) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Stable key of the question within its category; answers are keyed by it.
    pub id: String,
    /// What is asked.
    pub text: String,
    /// Whether a case cannot be filed without an answer.
    pub required: bool,
}

/// Checks a case's answers against its category's questions: every required question is
/// answered, and nothing is answered that was not asked.
pub fn check_answers(
    questions: &[Question],
    answers: &BTreeMap<String, Answer>,
) -> Result<(), DomainError> {
    let unknown: Vec<String> = answers
        .keys()
        .filter(|k| !questions.iter().any(|q| &q.id == *k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(DomainError::UnknownQuestion {
            question_ids: unknown,
        });
    }
    let missing: Vec<String> = questions
        .iter()
        .filter(|q| q.required && !answers.contains_key(&q.id))
        .map(|q| q.id.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::RequiredAnswerMissing {
            question_ids: missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Vec<Question> {
        vec![
            Question {
                id: "bounce_message".into(),
                text: "Paste the bounce".into(),
                required: true,
            },
            Question {
                id: "first_seen".into(),
                text: "When did it start?".into(),
                required: false,
            },
        ]
    }

    fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, Answer> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Answer::parse(v).unwrap_or_else(|e| panic!("{e:?}")),
                )
            })
            .collect()
    }

    #[test]
    fn every_required_question_must_be_answered() {
        assert_eq!(
            check_answers(&questions(), &answers(&[("first_seen", "today")])),
            Err(DomainError::RequiredAnswerMissing {
                question_ids: vec!["bounce_message".into()]
            })
        );
    }

    #[test]
    fn optional_questions_may_stay_unanswered() {
        assert_eq!(
            check_answers(&questions(), &answers(&[("bounce_message", "550 5.1.1")])),
            Ok(())
        );
    }

    #[test]
    fn answers_to_questions_that_were_not_asked_are_refused() {
        assert_eq!(
            check_answers(
                &questions(),
                &answers(&[("bounce_message", "550"), ("favourite_colour", "blue")])
            ),
            Err(DomainError::UnknownQuestion {
                question_ids: vec!["favourite_colour".into()]
            })
        );
    }
}
