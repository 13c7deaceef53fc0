import Testing

@Suite struct SmokeTests {
    @Test func versionPrintsAndExitsZero() throws {
        let r = try certs("--version")
        #expect(r.status == 0)
        #expect(r.stdout.contains("0.1"))
    }
}
