def test_register_gives_welcome_bonus(api, audit):
    assert api.balance() == 10
    r = api.deduct("resume_parsing")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["balance"] == 2
    audit()
