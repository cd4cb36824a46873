//! Choosing the tipset a state read is made at: a null round is refused unless the caller asks for the tipset
//! before or after it.

use lotus_rest::auth::Perm;

use crate::common::Harness;

#[actix_web::test]
async fn a_null_round_is_refused_unless_previous_or_next_is_asked_for() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let null = *h
        .sim
        .null_rounds()
        .first()
        .expect("the chain has null rounds");
    let before = h
        .sim
        .tipset_at(null - 1)
        .expect("the round before is a tipset");
    let after = h
        .sim
        .tipset_at(null + 1)
        .expect("the round after is a tipset");
    let account = &h.sim.accounts()[0].id;

    let r = h
        .get(&format!("/v1/actors/{account}?height={null}"), Some(&token))
        .await;
    let p = r.problem(404, "null_round");
    assert!(p["detail"].as_str().unwrap().contains("null round"), "{p}");

    // The actor's nonce and balance at the tipset chosen equal those read at that tipset's own height.
    for (policy, ts) in [("previous", &before), ("next", &after)] {
        let r = h
            .get(
                &format!("/v1/actors/{account}?height={null}&null_round={policy}"),
                Some(&token),
            )
            .await;
        assert_eq!(r.status, 200, "{policy}: {}", r.text);
        let direct = h
            .get(
                &format!("/v1/actors/{account}?height={}", ts.height),
                Some(&token),
            )
            .await;
        assert_eq!(r.json(), direct.json(), "{policy}");
    }
    // At a height that is not a null round, every policy reads the same tipset.
    let r = h
        .get(
            &format!(
                "/v1/actors/{account}?height={}&null_round=next",
                before.height
            ),
            Some(&token),
        )
        .await;
    let direct = h
        .get(
            &format!("/v1/actors/{account}?height={}", before.height),
            Some(&token),
        )
        .await;
    assert_eq!(r.json(), direct.json());

    for (query, words) in [
        ("null_round=previous", "give it with height"),
        (
            "height=5&null_round=sideways",
            "expected error, previous or next",
        ),
    ] {
        let r = h
            .get(&format!("/v1/actors/{account}?{query}"), Some(&token))
            .await;
        let p = r.problem(400, "invalid_parameter");
        assert!(
            p["detail"].as_str().unwrap().contains(words),
            "{query}: {p}"
        );
    }
    let beyond = h.sim.head().height + 10;
    let r = h
        .get(
            &format!("/v1/actors/{account}?height={beyond}&null_round=next"),
            Some(&token),
        )
        .await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("beyond"), "{p}");
}
