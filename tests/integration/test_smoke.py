async def test_register_then_create_and_list(client, alice):
    created = await client.post("/tasks", json={"title": "Buy milk"}, headers=alice)
    assert created.status_code == 201
    listed = await client.get("/tasks", headers=alice)
    assert listed.json()["total"] == 1
    assert listed.json()["tasks"][0]["title"] == "Buy milk"
