//! Mileage at HMRC approved rates (DOMAIN.md §5): the car rate changes after the threshold of
//! business miles in a tax year, so each journey is priced after the partner's earlier ones.

use crate::rate_card::{MileageRates, Pence};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vehicle {
    Car,
    Motorcycle,
    Bicycle,
}

impl Vehicle {
    pub fn parse(value: &str) -> Option<Vehicle> {
        match value {
            "car" => Some(Vehicle::Car),
            "motorcycle" => Some(Vehicle::Motorcycle),
            "bicycle" => Some(Vehicle::Bicycle),
            _ => None,
        }
    }
}

/// The allowance for one journey of `tenths` tenths of a mile, with `passengers` carried, after
/// `earlier_car_tenths` claimed by car earlier in the tax year; and how it was worked out.
pub fn allowance(
    rates: &MileageRates,
    vehicle: Vehicle,
    tenths: u32,
    passengers: u32,
    earlier_car_tenths: u64,
) -> (Pence, String) {
    let tenths = u64::from(tenths);
    let miles = |t: u64| format!("{}.{}", t / 10, t % 10);
    // Worked in tenths of a penny, rounded half up to the penny once at the end.
    let (mut tenth_pence, mut working) = match vehicle {
        Vehicle::Car => {
            let threshold = u64::from(rates.car_threshold_miles) * 10;
            let below = tenths.min(threshold.saturating_sub(earlier_car_tenths));
            let above = tenths - below;
            let mut parts = Vec::new();
            if below > 0 {
                parts.push(format!("{} miles at {}p", miles(below), rates.car));
            }
            if above > 0 {
                parts.push(format!(
                    "{} miles at {}p (over {} miles this tax year)",
                    miles(above),
                    rates.car_after_threshold,
                    rates.car_threshold_miles
                ));
            }
            (
                below as i64 * rates.car + above as i64 * rates.car_after_threshold,
                parts.join(" and "),
            )
        }
        Vehicle::Motorcycle => (
            tenths as i64 * rates.motorcycle,
            format!(
                "{} miles by motorcycle at {}p",
                miles(tenths),
                rates.motorcycle
            ),
        ),
        Vehicle::Bicycle => (
            tenths as i64 * rates.bicycle,
            format!("{} miles by bicycle at {}p", miles(tenths), rates.bicycle),
        ),
    };
    if passengers > 0 {
        tenth_pence += tenths as i64 * i64::from(passengers) * rates.passenger;
        working.push_str(&format!(
            "; {passengers} passenger{} at {}p a mile",
            if passengers == 1 { "" } else { "s" },
            rates.passenger
        ));
    }
    (Pence((tenth_pence + 5) / 10), working)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_car_journey_at_45p_with_a_passenger_at_5p() {
        let (pence, working) = allowance(&MileageRates::hmrc(), Vehicle::Car, 125, 1, 0);
        // 12.5 × 45p = 562.5p, plus 12.5 × 5p = 62.5p: 625p.
        assert_eq!(pence, Pence(625));
        assert_eq!(working, "12.5 miles at 45p; 1 passenger at 5p a mile");
    }

    #[test]
    fn the_car_rate_drops_after_10000_miles_in_the_tax_year() {
        let rates = MileageRates::hmrc();
        // 9,995 miles already: 5 miles at 45p, 15 at 25p.
        let (pence, working) = allowance(&rates, Vehicle::Car, 200, 0, 99_950);
        assert_eq!(pence, Pence(5 * 45 + 15 * 25));
        assert!(working.contains("15.0 miles at 25p"));
        let (after, _) = allowance(&rates, Vehicle::Car, 100, 0, 100_000);
        assert_eq!(after, Pence(250));
    }

    #[test]
    fn bicycles_at_20p_and_motorcycles_at_24p() {
        let rates = MileageRates::hmrc();
        assert_eq!(allowance(&rates, Vehicle::Bicycle, 33, 0, 0).0, Pence(66));
        assert_eq!(
            allowance(&rates, Vehicle::Motorcycle, 100, 0, 0).0,
            Pence(240)
        );
    }
}
