{
    "name": "FinSync Testing Tools",
    "summary": "Simulators of the bank, Stripe and PayPal APIs, statement file generators, "
    "matching benchmark data sets and the demo stories that use them: for tests, demos and "
    "benchmarks, never for production",
    "version": "18.0.1.0.0",
    "category": "Hidden/Tests",
    "license": "LGPL-3",
    "author": "FinSync",
    "website": "https://github.com/finsync/finsync",
    "depends": ["finsync_stripe", "finsync_paypal", "finsync_matching"],
    "demo": ["demo/finsync_testing_demo.xml"],
    "installable": True,
}
