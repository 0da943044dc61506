/// Test support for BlockStore: backends to test against and the backend conformance suite.
public enum BlockStoreTesting {}
