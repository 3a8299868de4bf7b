//! Case classifications: the catalogue's categories and the questions a case must answer.

use std::collections::BTreeMap;

use crate::values::{Answer, ProductType};
use crate::{DomainError, FieldError, InvalidValue};

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

/// Checks that the category chosen for a case is one of its product's: `category_product` is
/// the product of the category found under the id given, `None` when there is no such category.
pub fn check_category_of_product(
    category_product: Option<ProductType>,
    product: ProductType,
) -> Result<(), DomainError> {
    if category_product == Some(product) {
        Ok(())
    } else {
        Err(DomainError::InvalidFields(vec![FieldError {
            field: "classification_id".to_owned(),
            error: InvalidValue::new(
                "unknown_classification",
                "no such category for this product",
            ),
        }]))
    }
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

    #[test]
    fn a_category_must_be_one_of_the_cases_product() {
        let product = ProductType::GoogleWorkspace;
        assert_eq!(check_category_of_product(Some(product), product), Ok(()));
        let refused = check_category_of_product(None, product);
        assert!(
            matches!(&refused, Err(DomainError::InvalidFields(f)) if f[0].field == "classification_id" && f[0].error.code == "unknown_classification"),
            "{refused:?}"
        );
    }

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
