"""Pure signal processing of angle series: cleaning and filtering, phases of the test, live smoothing."""
